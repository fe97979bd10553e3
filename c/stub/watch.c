/*
 * `ckpt-restore --watch PID PERIOD_MS KEEP SIGNAL`: the watcher behind
 * --interval. `ckpt` runs it, and waits for it to exit, just before it
 * execs the program (or a restart) in its own place, PID.
 *
 * Algorithm:
 *   1. Open a pidfd on PID: it follows that process through its execs and
 *      a restart's, and cannot be fooled by a reused pid.
 *   2. Fork, and let the first process exit: the launcher's wait returns,
 *      and the watcher, orphaned, belongs to init (or a subreaper), never
 *      to the program, whose checkpoints a child would refuse.
 *   3. Leave the session (the terminal's ^C, ^Z and hangup are for the
 *      program), go to / (never hold a mount), keep only stderr and the
 *      pidfd.
 *   4. Every PERIOD_MS on CLOCK_MONOTONIC, unless the pidfd says PID
 *      ended (then exit at once): if the trigger signal is caught in PID
 *      now (libckpt's handler is in place: watch_target.c) and PID is not
 *      stopped, send it a periodic request through the pidfd, carrying
 *      KEEP. Otherwise skip the turn: between an exec and libckpt's
 *      constructor, or in a program exec'd without libckpt, the signal
 *      would kill; a stopped program would only collect requests.
 * Nothing here waits for a checkpoint to finish: libckpt skips a request
 * that comes while the last image is still being written, and a standard
 * signal already pending is not queued twice, so requests never pile up.
 * The program never sees the watcher: not as a child, not in its process
 * group, and its requests go to libckpt, never to the program's handler.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

struct ts { long sec, nsec; };

static uint64_t monotonic_ms(void)
{
	struct ts t;
	sys_clock_gettime(1 /* CLOCK_MONOTONIC */, &t);
	return (uint64_t)t.sec * 1000 + (uint64_t)t.nsec / 1000000;
}

static void say_line(const struct line *l)
{
	sys_write(2, l->buf, l->len);
	sys_write(2, "\n", 1);
}

/* "ckpt: periodic checkpoints of process PID stop: WHAT[: errno text]", then exit 1. */
__attribute__((noreturn)) static void give_up(int pid, const char *what, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "ckpt: periodic checkpoints of process ");
	line_u64(&l, (uint64_t)pid);
	line_str(&l, " stop: ");
	line_str(&l, what);
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	say_line(&l);
	sys_exit_group(1);
}

/* A decimal argument in [min, max], else -1. */
static long number_arg(const char *s, long min, long max)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > max)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= min && v <= max ? v : -1;
}

/* The request: the trigger, queued (SI_QUEUE), with the continue value
 * and KEEP above it (ckpt_protocol.h). siginfo_t's layout for SI_QUEUE. */
static long send_request(int pidfd, int sig, uint32_t keep)
{
	struct {
		int32_t signo, err, code, pad;
		int32_t pid;
		uint32_t uid;
		uint64_t value;
		char rest[128 - 32];
	} info = {.signo = sig, .code = -1 /* SI_QUEUE */};
	info.pid = (int32_t)sys_getpid();
	info.uid = (uint32_t)sys_getuid();
	info.value = (uint64_t)keep << CKPT_REQUEST_KEEP_SHIFT | CKPT_REQUEST_CONTINUE_SIGVAL;
	return sys_pidfd_send_signal(pidfd, sig, &info);
}

/* Waits until `deadline_ms`; returns 1 if PID ended first. */
static int ended_before(int pidfd, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = monotonic_ms();
		if (now >= deadline_ms)
			return 0;
		uint64_t left = deadline_ms - now;
		struct ts t = {(long)(left / 1000), (long)(left % 1000) * 1000000};
		struct { int fd; short events, revents; } p = {pidfd, 1 /* POLLIN: it exited */, 0};
		if (sys_ppoll(&p, 1, &t) > 0)
			return 1;
	}
}

__attribute__((noreturn)) static void watch_loop(int pid, int pidfd, uint64_t period_ms, uint32_t keep, int sig)
{
	for (uint64_t next = monotonic_ms() + period_ms;; next += period_ms) {
		if (ended_before(pidfd, next))
			sys_exit_group(0);
		/* Behind (the machine slept, or we were stopped): no burst of missed turns. */
		uint64_t now = monotonic_ms();
		if (next + period_ms <= now)
			next = now;
		int target = watched_program(pid), trigger = sig;
		if (!trigger) {
			trigger = watched_trigger_signal(target);
			if (trigger == -3 /* ESRCH: the program behind it has just ended */)
				continue;
			if (trigger < 0)
				give_up(pid, "cannot read its checkpoint signal in its environment", trigger);
		}
		if (!trigger || !watched_ready(target, trigger))
			continue;
		long target_fd = target == pid ? pidfd : sys_pidfd_open(target);
		long err = target_fd < 0 ? target_fd : send_request((int)target_fd, trigger, keep);
		if (target_fd >= 0 && target_fd != pidfd)
			sys_close((int)target_fd);
		if (err == -3 && target != pid)
			continue; /* the program behind the supervisor ended: the supervisor's turn next */
		if (err == -3 /* ESRCH: it has just ended */)
			sys_exit_group(0);
		if (err < 0 && err != -11 /* EAGAIN: too many signals queued; next turn */)
			give_up(pid, "cannot signal it", err);
	}
}

__attribute__((noreturn)) void watch_program(int argc, char **argv)
{
	if (argc != CKPT_WATCH_ARG_SIGNAL + 1)
		give_up(0, "usage: ckpt-restore --watch PID PERIOD_MS KEEP SIGNAL (run through `ckpt --interval`)", 0);
	long pid = number_arg(argv[CKPT_WATCH_ARG_PID], 1, 0x3fffffff);
	long period = number_arg(argv[CKPT_WATCH_ARG_PERIOD_MS], 1, 1l << 40);
	long keep = number_arg(argv[CKPT_WATCH_ARG_KEEP], 1, CKPT_KEEP_MAX);
	long sig = number_arg(argv[CKPT_WATCH_ARG_SIGNAL], 0, CKPT_SIGNAL_MAX);
	if (pid < 0 || period < 0 || keep < 0 || sig < 0)
		give_up((int)(pid > 0 ? pid : 0), "bad --watch arguments", 0);
	sys_close_range(3, ~0u); /* whatever the launcher's caller passed on is not ours to hold */
	long pidfd = sys_pidfd_open((int)pid);
	if (pidfd < 0)
		give_up((int)pid, "cannot watch it (pidfd_open needs Linux 5.3)", pidfd);
	long child = sys_fork();
	if (child < 0)
		give_up((int)pid, "cannot start the watcher", child);
	if (child > 0)
		sys_exit_group(0);
	sys_setsid();
	sys_chdir("/");
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-watch", 0, 0, 0);
	uint64_t none = 0;
	sys_rt_sigprocmask(2 /* SIG_SETMASK */, &none, 0); /* the stub blocked all: SIGTERM must end us */
	watch_loop((int)pid, (int)pidfd, (uint64_t)period, (uint32_t)keep, (int)sig);
}
