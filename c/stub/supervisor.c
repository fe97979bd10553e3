/*
 * The supervisor: after a restart into a pid namespace (pid_namespace.c),
 * the process the shell started stays outside it, so `kill PID`, `wait`
 * and the job's exit status keep meaning the program. It passes every
 * signal sent to it on to the namespace's init, which passes it on to the
 * program (with kill(): the program sees init, pid 1, as the sender), and
 * ends as the program ended: the same exit code, or the same signal.
 */
#include <signal.h>
#include <linux/prctl.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

#define RLIMIT_CORE 4

/* Ends this process as `status` (from wait4) says another ended. A death
 * by signal is raised again here, with the default action and no core
 * file (the program wrote its own, if any). */
__attribute__((noreturn)) void exit_like(int status)
{
	int sig = status & 0x7f;
	if (sig == 0)
		sys_exit_group((status >> 8) & 0xff);
	struct ckpt_rlimit no_core;
	if (sys_prlimit(RLIMIT_CORE, 0, &no_core) == 0) {
		no_core.cur = 0;
		sys_prlimit(RLIMIT_CORE, &no_core, 0);
	}
	struct ckpt_sigaction dfl = {0};
	sys_rt_sigaction(sig, &dfl, 0);
	uint64_t only = 1ull << (sig - 1);
	sys_rt_sigprocmask(1 /* SIG_UNBLOCK */, &only, 0);
	sys_kill((int)sys_getpid(), sig);
	sys_exit_group(128 + sig);
}

/* The program's descriptors are its own: a copy held by the supervisor,
 * init or the stand-in would keep a pipe's reader from seeing the end the
 * program closes. */
void close_all_but(int keep, int also)
{
	for (int fd = 0; fd < 3; fd++)
		if (fd != keep && fd != also)
			sys_close(fd);
	if (keep > 3)
		sys_close_range(3, (unsigned)keep - 1);
	sys_close_range(keep + 1 > 3 ? (unsigned)keep + 1 : 3, ~0u);
}

__attribute__((noreturn)) void supervise(int child, int report_fd, int terminal_fd)
{
	sys_prctl(PR_SET_NAME, (unsigned long)CKPT_SUPERVISOR_NAME, 0, 0, 0);
	close_all_but(report_fd, terminal_fd); /* the terminal: to hand back */
	const uint64_t all = ~0ull;
	for (;;) {
		char info[128];
		long sig = sys_rt_sigtimedwait(&all, info, 0);
		if (sig == SIGCHLD) {
			int status;
			if (sys_wait4(child, &status, 1 /* WNOHANG */) != child)
				continue;
			/* init has ended, so has everything in the namespace: the
			 * pipe holds the program's status, unless it was init. */
			struct ns_report r;
			while (sys_read(report_fd, &r, sizeof r) == sizeof r)
				if (r.step == NS_STATUS)
					status = r.value;
			/* The terminal back to the job the shell knows (no SIGTTOU: all blocked). */
			if (terminal_fd >= 0) {
				int32_t group = (int32_t)sys_getpgrp();
				sys_ioctl(terminal_fd, 0x5410 /* TIOCSPGRP */, &group);
			}
			exit_like(status);
		}
		if (sig > 0)
			sys_kill(child, (int)sig);
	}
}
