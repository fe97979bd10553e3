/*
 * The program and the checkpoint trigger. If the program installs its own
 * handler for the trigger signal, it would silently replace ours and
 * checkpoints would stop working. So sigaction() and signal() are
 * interposed for that one signal: the program's handler is recorded, not
 * installed, and reported back to it as if it were; ours stays. A plain
 * signal then goes to the program's handler (its use of the signal keeps
 * working), and a request from `ckpt checkpoint PID`, which arrives through
 * sigqueue with CKPT_REQUEST_SIGVAL, takes a checkpoint. We say so once on
 * stderr, with the way out: --signal. Every other signal goes straight to
 * the libc's own (libc_variant.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include "ckpt_lib.h"
#include "../sys.h"

static struct sigaction program_action; /* zero: SIG_DFL */
static int program_has_action;

__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!ckpt_config.signal || (sig != ckpt_config.signal && sig != CKPT_THREAD_SIGNAL))
		return libc_sigaction(sig, act, old);
	if (sig == CKPT_THREAD_SIGNAL) {
		errno = EINVAL; /* reserved, like the libc's own (glibc 32-33, musl 32-34) */
		return -1;
	}
	if (old)
		*old = program_action;
	if (act) {
		program_action = *act;
		program_has_action = act->sa_handler != SIG_DFL;
		if (program_has_action)
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
	return program_has_action ? 0 : 1;
}

/* --keep, carried by a periodic request above the request value
 * (ckpt_protocol.h); 0 for any other request. */
uint32_t requested_keep(const siginfo_t *info)
{
	uint64_t keep = (uint64_t)(uintptr_t)info->si_value.sival_ptr >> CKPT_REQUEST_KEEP_SHIFT;
	return keep > CKPT_KEEP_MAX ? CKPT_KEEP_MAX : (uint32_t)keep;
}

/* Runs the program's own handler for a plain trigger signal, as the kernel
 * would have (its mask added for the call; SA_RESETHAND honoured). */
void run_program_handler(int sig, siginfo_t *info, void *uc)
{
	struct sigaction a = program_action;
	if (a.sa_handler == SIG_IGN || a.sa_handler == SIG_DFL)
		return;
	if (a.sa_flags & SA_RESETHAND)
		program_action.sa_handler = SIG_DFL, program_has_action = 0;
	sigset_t old;
	pthread_sigmask(SIG_SETMASK, &a.sa_mask, &old);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, info, uc);
	else
		a.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, 0);
}
