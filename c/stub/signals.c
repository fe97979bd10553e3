/*
 * Pending signals (the image's signal table): queued again with their
 * saved siginfo once every thread exists, before any thread of the program
 * runs. Every thread is then still inside libckpt's handlers or the stub
 * with every signal blocked, so nothing is delivered until each thread's
 * own mask comes back with rt_sigreturn: the program finds them pending
 * exactly as it left them.
 *
 * The kernel takes any si_code, si_pid and si_uid in a siginfo a process
 * queues to itself (rt_sigqueueinfo, rt_tgsigqueueinfo); only another
 * process is kept from forging kernel or kill() ones. Per signal number a
 * queue is FIFO, so queuing the records in table order keeps every
 * queue's order; which signal is delivered first is the kernel's choice,
 * as before.
 */
#include "stub.h"
#include "../sys.h"

#define SIGKILL_ 9
#define SIGSTOP_ 19
#define RLIMIT_SIGPENDING_ 11

static __attribute__((noreturn)) void signal_die(const struct ckpt_signal *s, const char *why, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "pending signal ");
	line_u64(&l, s->signo);
	line_str(&l, why);
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

static int32_t si_code(const struct ckpt_signal *s)
{
	int32_t code;
	__builtin_memcpy(&code, s->info + 8, sizeof code); /* si_signo, si_errno, si_code */
	return code;
}

void check_signal_records(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_signal *sigs = (const void *)(tables + h->process.signals_off);
	for (uint32_t i = 0; i < h->process.nsignals; i++) {
		const struct ckpt_signal *s = &sigs[i];
		int32_t signo;
		__builtin_memcpy(&signo, s->info, sizeof signo);
		if (s->signo < 1 || s->signo > CKPT_MAX_SIGNALS || s->signo == SIGKILL_ || s->signo == SIGSTOP_ ||
		    (uint32_t)signo != s->signo)
			signal_die(s, ": not a signal that can be pending (corrupt image)", 0);
		if (s->thread != CKPT_SIGNAL_PROCESS && s->thread >= h->nthreads)
			signal_die(s, ": its thread is out of range (corrupt image)", 0);
	}
}

void check_signals(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_signal *sigs = (const void *)(tables + h->process.signals_off);
	uint64_t limited = 0;
	check_signal_records(h, tables);
	/* The kernel charges these to RLIMIT_SIGPENDING; past it, an RT one is
	 * refused and a standard one loses its siginfo. */
	for (uint32_t i = 0; i < h->process.nsignals; i++)
		if (si_code(&sigs[i]) < 0)
			limited++;
	struct { uint64_t cur, max; } lim;
	if (limited && sys_prlimit(RLIMIT_SIGPENDING_, 0, &lim) == 0 && limited > lim.cur) {
		struct line l = {.len = 0};
		line_u64(&l, limited);
		line_str(&l, " queued signals were pending, more than this restart's RLIMIT_SIGPENDING (");
		line_u64(&l, lim.cur);
		line_str(&l, "); raise it with ulimit -i");
		die_line(&l);
	}
}

/* Called by thread `index` itself (the stub's own thread is 0, and also
 * queues the process-wide ones): the kernel accepts a kill() or kernel
 * siginfo only from the target itself, rt_sigqueueinfo only from the leader. */
void restore_signals(uint32_t index)
{
	int pid = (int)sys_getpid(), tid = (int)sys_gettid();
	for (uint32_t i = 0; i < restart.hdr->process.nsignals; i++) {
		const struct ckpt_signal *s = &restart.signals[i];
		int process = s->thread == CKPT_SIGNAL_PROCESS;
		if (s->thread != index && !(process && index == 0))
			continue;
		uint8_t info[128];
		__builtin_memcpy(info, s->info, sizeof info);
		long err = process ? sys_rt_sigqueueinfo(pid, (int)s->signo, info)
				   : sys_rt_tgsigqueueinfo(pid, tid, (int)s->signo, info);
		if (err < 0)
			signal_die(s, ": cannot queue it again", err);
	}
}
