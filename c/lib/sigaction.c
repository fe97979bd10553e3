/*
 * The program and the two signals libckpt keeps: the checkpoint trigger
 * and the stop signal (CKPT_THREAD_SIGNAL, threads.c). A handler the
 * program installed for either would silently replace ours, and
 * checkpoints would stop working (for the stop signal: hang, then fail).
 * So sigaction() and signal() are interposed for those two: the program's
 * action is recorded, not installed, and reported back to it as if it
 * were; ours stays. A signal that is not libckpt's own then gets the
 * program's action (its handler, ignored, or the default: for the stop
 * signal, the end of the process), so its use of the signal keeps working;
 * a request from `ckpt checkpoint PID`, which arrives through sigqueue
 * with CKPT_REQUEST_SIGVAL, takes a checkpoint. A handler for the trigger
 * is said once on stderr, with the way out: --signal.
 *
 * Answering success for the stop signal, not EINVAL as glibc does for its
 * own 32 and 33, matters: Go's runtime installs a handler for every signal
 * and, on EINVAL, installs it again by raw system call, where nothing can
 * see it. Every other signal goes straight to the libc's own
 * (libc_variant.c).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>
#include "ckpt_lib.h"
#include "../sys.h"

/* The program's action for one of the kept signals; zero: SIG_DFL. */
struct program_action {
	struct sigaction action;
	int set;   /* a handler or SIG_IGN */
	int reset; /* SIG_DFL, put back after an action of the program's own */
};

static struct program_action trigger_action, stop_action;

static struct program_action *kept(int sig)
{
	if (!ckpt_config.signal)
		return 0;
	return sig == ckpt_config.signal ? &trigger_action : sig == CKPT_THREAD_SIGNAL ? &stop_action : 0;
}

__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct program_action *p = kept(sig);
	if (!p)
		return libc_sigaction(sig, act, old);
	if (old)
		*old = p->action;
	if (act) {
		p->reset = act->sa_handler == SIG_DFL && (p->set || p->reset);
		p->action = *act;
		p->set = act->sa_handler != SIG_DFL;
		if (p->set && p == &trigger_action)
			trigger_taken_warning(act->sa_handler == SIG_IGN);
	}
	return 0;
}

static sighandler_t set_simple(int sig, sighandler_t handler, int flags)
{
	struct sigaction sa = {0}, old;
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t handler)
{
	return set_simple(sig, handler, SA_RESTART);
}

__attribute__((visibility("default"))) sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return set_simple(sig, handler, SA_RESTART);
}

__attribute__((visibility("default"))) sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return set_simple(sig, handler, SA_RESETHAND | SA_NODEFER);
}

/* Whether a trigger signal asks for a checkpoint (1), for one that keeps
 * running (2), for a periodic one (3: keeps running too), or belongs to
 * the program (0). */
int trigger_request(const siginfo_t *info)
{
	if (info->si_code == SI_QUEUE && info->si_value.sival_int == CKPT_REQUEST_CONTINUE_SIGVAL)
		return requested_keep(info) ? 3 : 2;
	if (info->si_code == SI_QUEUE && info->si_value.sival_int == CKPT_REQUEST_SIGVAL)
		return 1;
	if (trigger_action.set)
		return 0;
	/* Sent to itself by a program that put the default back after a handler
	 * of its own: its way to end by the signal (Ruby's, for a signal it
	 * does not trap), which a checkpoint of its last moments would not be. */
	if (trigger_action.reset && info->si_pid == (int)sys_getpid() && (info->si_code == SI_TKILL || info->si_code == SI_USER))
		return 0;
	return 1;
}

/* --keep, carried by a periodic request above the request value
 * (ckpt_protocol.h); 0 for any other request. */
uint32_t requested_keep(const siginfo_t *info)
{
	uint64_t keep = (uint64_t)(uintptr_t)info->si_value.sival_ptr >> CKPT_REQUEST_KEEP_SHIFT;
	return keep > CKPT_KEEP_MAX ? CKPT_KEEP_MAX : (uint32_t)keep;
}

/* The default action of a kept signal that is the program's: the end of
 * the process, by that signal, as without libckpt. */
static void end_by_signal(int sig)
{
	struct sigaction dfl = {0};
	dfl.sa_handler = SIG_DFL;
	libc_sigaction(sig, &dfl, 0);
	uint64_t bit = 1ull << (sig - 1);
	sys_rt_sigprocmask(SIG_UNBLOCK, &bit, 0);
	sys_tgkill((int)sys_getpid(), (int)sys_gettid(), sig);
}

/* Gives a kept signal that is not libckpt's own to the program's action, as
 * the kernel would have (its mask added for the call; SA_RESETHAND
 * honoured). The trigger's default comes here only as trigger_request
 * decided: sent to itself after a reset. */
void run_program_handler(int sig, siginfo_t *info, void *uc)
{
	struct program_action *p = kept(sig);
	if (!p)
		return;
	struct sigaction a = p->action;
	if (a.sa_handler == SIG_DFL)
		end_by_signal(sig);
	if (a.sa_handler == SIG_IGN || a.sa_handler == SIG_DFL)
		return;
	if (a.sa_flags & SA_RESETHAND)
		p->action.sa_handler = SIG_DFL, p->set = 0, p->reset = 1;
	/* Set directly: through pthread_sigmask, the signal's own bit would
	 * read as the program blocking the trigger. */
	uint64_t during, handler_mask, old;
	__builtin_memcpy(&during, &((ucontext_t *)uc)->uc_sigmask, sizeof during); /* the mask it came in */
	__builtin_memcpy(&handler_mask, &a.sa_mask, sizeof handler_mask);
	during |= handler_mask | (a.sa_flags & SA_NODEFER ? 0 : 1ull << (sig - 1));
	during &= ~never_blocked();
	sys_rt_sigprocmask(SIG_SETMASK, &during, &old);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, info, uc);
	else
		a.sa_handler(sig);
	sys_rt_sigprocmask(SIG_SETMASK, &old, 0);
}
