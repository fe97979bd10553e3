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

#define F_SETOWN 8
#define F_SETSIG 10
#define O_NONBLOCK 04000
#define O_ASYNC 020000
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410

static int report_fd, terminal_fd;
static int program_status = -1; /* from the pipe, once the program ended */
static int32_t program_group;    /* as we see it, if it took the terminal; else 0 */

static void give_terminal(int32_t group)
{
	if (terminal_fd >= 0 && group > 0)
		sys_ioctl(terminal_fd, TIOCSPGRP, &group); /* no SIGTTOU: all signals are blocked */
}

/* The program stopped (Ctrl-Z, or reading the terminal in the
 * background): stop as it did, the terminal back with our group first,
 * so the shell sees its job stop and prints its prompt. */
static void stop_like(int sig)
{
	int32_t foreground = 0;
	if (terminal_fd >= 0 && sys_ioctl(terminal_fd, TIOCGPGRP, &foreground) == 0 && foreground == program_group)
		give_terminal((int32_t)sys_getpgrp());
	if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
		sig = SIGSTOP;
	struct ckpt_sigaction dfl = {0}, old;
	sys_rt_sigaction(sig, &dfl, &old);
	uint64_t only = 1ull << (sig - 1);
	sys_rt_sigprocmask(1 /* SIG_UNBLOCK */, &only, 0);
	sys_kill((int)sys_getpid(), sig); /* stops here until SIGCONT */
	sys_rt_sigprocmask(0 /* SIG_BLOCK */, &only, 0);
	sys_rt_sigaction(sig, &old, 0);
}

/* What the namespace wrote since last time: the program's status, stops. */
static void read_reports(void)
{
	struct ns_report r;
	while (sys_read(report_fd, &r, sizeof r) == sizeof r) {
		if (r.step == NS_STATUS)
			program_status = r.value;
		else if (r.step == NS_STOPPED)
			stop_like(r.value);
		else if (r.step == NS_DETACHED) { /* the program ended; the rest of its tree runs on */
			give_terminal((int32_t)sys_getpgrp());
			exit_like(program_status);
		}
	}
}

__attribute__((noreturn)) void supervise(int child, int report_pipe, int terminal)
{
	report_fd = report_pipe, terminal_fd = terminal;
	/* The program took the terminal before it said it was ready. */
	if (terminal_fd >= 0 && sys_ioctl(terminal_fd, TIOCGPGRP, &program_group) < 0)
		program_group = 0;
	sys_prctl(PR_SET_NAME, (unsigned long)CKPT_SUPERVISOR_NAME, 0, 0, 0);
	close_all_but(report_fd, terminal_fd); /* the terminal: to hand back */
	/* Reports arrive as SIGIO with a kernel si_code (POLL_IN > 0), told
	 * apart from a SIGIO someone sends us (SI_USER, 0), which is passed on. */
	sys_fcntl(report_fd, F_SETOWN, (long)sys_getpid());
	sys_fcntl(report_fd, F_SETSIG, SIGIO);
	sys_fcntl(report_fd, 4 /* F_SETFL */, O_NONBLOCK | O_ASYNC);
	const uint64_t all = ~0ull;
	for (;;) {
		struct { int32_t signo, errno_, code; } info[32]; /* a siginfo_t's 128 bytes */
		long sig = sys_rt_sigtimedwait(&all, info, 0);
		if (sig == SIGIO && info[0].code > 0) {
			read_reports();
			continue;
		}
		if (sig == SIGCHLD) {
			int status;
			if (sys_wait4(child, &status, 1 /* WNOHANG */) != child)
				continue;
			/* init has ended, so has everything in the namespace: the
			 * pipe holds the program's status, unless it was init. */
			read_reports();
			give_terminal((int32_t)sys_getpgrp()); /* back to the job the shell knows */
			exit_like(program_status >= 0 ? program_status : status);
		}
		if (sig == SIGCONT) { /* `fg`: the terminal, if the shell gave it to us, to the program */
			int32_t foreground = 0;
			if (terminal_fd >= 0 && sys_ioctl(terminal_fd, TIOCGPGRP, &foreground) == 0 &&
			    foreground == (int32_t)sys_getpgrp())
				give_terminal(program_group);
		}
		if (sig > 0)
			sys_kill(child, (int)sig);
	}
}
