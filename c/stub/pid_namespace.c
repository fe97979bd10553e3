/*
 * Restart into a fresh pid namespace, so the program gets its old pid and
 * every thread its old tid (clone3 with set_tid; process.c clones the
 * threads): owner-recording mutexes, Python asyncio's pid check, pid files
 * and logs stay true.
 *
 *   supervisor     this process, the pid the shell sees: passes signals
 *   |              on and exits as the program did (supervisor.c)
 *   +- init        pid 1 of the namespace: mounts its /proc, reaps
 *      |           orphans, passes signals on to the program
 *      +- parent   a stand-in at the image's parent pid, so getppid() is
 *         |        unchanged (none when that was 0 or 1: init is the parent)
 *         +- program  at the image's pid: the restart goes on in it
 *
 * An image whose pid was 1 (a namespace's init) is restored as init itself.
 * An unprivileged user gets a user namespace too, mapping only its own uid
 * and gid (setgroups denied); root keeps the host's, and with it its real
 * capabilities (binding port 80 still works). An image holding SysV
 * segments gets an IPC namespace too (sysv_shm.c). All this comes before the
 * restart's own work, so locks, descriptors and sockets all belong to the
 * program's process. Where the kernel refuses (user namespaces disabled, a
 * seccomp filter, a /proc that cannot be mounted because the host's is
 * masked, as in Docker), the restart goes on in this process with a new
 * pid, and says so in one line.
 */
#include <fcntl.h>
#include <signal.h>
#include <linux/prctl.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

#define CLONE_NEWNS 0x00020000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define MS_REC 0x4000
#define MS_PRIVATE 0x40000
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410
#define WUNTRACED 2

static int report_pipe[2], go_pipe[2];
static int terminal_fd = -1; /* the supervisor's group has it in the foreground: for the program */

static void report(int32_t step, int32_t value)
{
	struct ns_report r = {step, value};
	sys_write(report_pipe[1], &r, sizeof r);
}

static void close_pipes(void)
{
	for (int i = 0; i < 2; i++)
		sys_close(report_pipe[i]), sys_close(go_pipe[i]);
}

static long clone_at(int pid, unsigned long flags)
{
	int32_t set_tid = pid;
	struct clone3_args a = {.flags = flags, .exit_signal = SIGCHLD};
	if (pid) {
		a.set_tid = (uint64_t)&set_tid;
		a.set_tid_size = 1;
	}
	return sys_clone3(&a, sizeof a);
}

/* The program's process: it leaves the namespace's plumbing behind and
 * leads a process group of its own, as a job-control shell made it at
 * launch, taking the terminal if the supervisor's group had it. Every
 * signal then reaches it exactly once: from the terminal directly, or
 * passed on by the supervisor, never both (the supervisor, init and the
 * stand-in are each outside the program's group). */
static void become_program(void)
{
	/* init's own setting: the program's (not in the image) was most likely none. */
	sys_prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (restart.daemon) { /* as daemon(3) left it: its own session, no terminal */
		long err = sys_setsid();
		report(err < 0 ? NS_FAIL_PROGRAM : NS_READY, (int32_t)err);
		sys_close(report_pipe[1]);
		if (err < 0)
			sys_exit_group(1);
		return;
	}
	sys_setpgid(0, 0);
	if (terminal_fd >= 0) {
		int32_t group = (int32_t)sys_getpid();
		sys_ioctl(terminal_fd, TIOCSPGRP, &group); /* every signal is blocked: no SIGTTOU */
	}
	/* Last: the supervisor reads the terminal's group, ours, once we are ready. */
	report(NS_READY, 0);
	sys_close(report_pipe[1]);
}

/* Waits for the program as its parent; a stop (Ctrl-Z) is reported to the
 * supervisor, which stops too, so the shell sees its job stop. */
static __attribute__((noreturn)) void run_parent_stand_in(int program)
{
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-parent", 0, 0, 0);
	sys_setpgid(0, 0); /* out of the supervisor's group: see become_program */
	close_all_but(report_pipe[1], -1);
	for (;;) {
		int status = 0;
		long pid = sys_wait4(program, &status, WUNTRACED);
		if (pid == -4 /* EINTR */)
			continue;
		if (pid == program && (status & 0xff) == 0x7f) {
			report(NS_STOPPED, (status >> 8) & 0xff);
			continue;
		}
		exit_like(status);
	}
}

/* pid 1 of the namespace: the kernel delivers it only signals it waits
 * for, and all of them are blocked here, so each is taken in turn.
 *
 * When the program ends, the namespace ends with init, killing whatever
 * is left in it; except after a whole tree was restored: then the members
 * still running (a daemon, a child the root left behind) run on, as they
 * would have without the restart. Init tells the supervisor the program's
 * status, lets it go (no longer killed by its exit), and stays, reaping,
 * until the namespace is empty. */
static __attribute__((noreturn)) void run_init(int child, int program)
{
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-init", 0, 0, 0);
	/* Out of the supervisor's group, or a signal sent to that group
	 * would reach the program twice: passed on by the supervisor and by init. */
	sys_setpgid(0, 0);
	close_all_but(report_pipe[1], -1);
	const uint64_t all = ~0ull;
	int tree_restored = 0, program_ended = 0;
	for (;;) {
		char info[128];
		long sig = sys_rt_sigtimedwait(&all, info, 0);
		if (tree_restored_note(sig, info)) {
			tree_restored = 1;
			if (restart.daemon) { /* back: `ckpt restart` returns 0, the daemon runs on */
				report(NS_STATUS, 0);
				sys_prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
				report(NS_DETACHED, 0);
				sys_close(report_pipe[1]);
			}
		} else if (sig == SIGCHLD) {
			int status;
			long pid;
			while ((pid = sys_wait4(-1, &status, 1 /* WNOHANG */ | WUNTRACED)) > 0)
				if (pid == child && (status & 0xff) == 0x7f) /* stopped */
					report(NS_STOPPED, (status >> 8) & 0xff);
				else if (pid == child) {
					report(NS_STATUS, status);
					if (!tree_restored)
						sys_exit_group(0);
					program_ended = 1;
					sys_prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
					report(NS_DETACHED, 0);
					sys_close(report_pipe[1]);
				}
			if (program_ended && pid == -10 /* ECHILD: the namespace is empty */)
				sys_exit_group(0);
		} else if (sig > 0 && !program_ended) {
			sys_kill(program, (int)sig);
		}
	}
}

/* A process at `pid`: 0 in it, its pid in the caller; a failure ends the
 * namespace, reported as `step`. */
static long clone_or_fail(int pid, enum ns_step step)
{
	long child = clone_at(pid, 0);
	if (child < 0) {
		report(step, (int32_t)child);
		sys_exit_group(1);
	}
	return child;
}

/* The first process of the namespace. Returns only in the program's. */
static void first_in_namespace(const struct ckpt_header *h)
{
	sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	sys_close(go_pipe[1]);
	sys_close(report_pipe[0]);
	char go = 0;
	if (sys_read(go_pipe[0], &go, 1) != 1)
		sys_exit_group(1); /* the supervisor gave up */
	sys_close(go_pipe[0]);
	/* Private first, so the mount never shows in the host's namespace. */
	long err = sys_mount(0, "/", 0, MS_REC | MS_PRIVATE);
	if (err >= 0)
		err = sys_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (err < 0) {
		report(NS_FAIL_PROC, (int32_t)err);
		sys_exit_group(1);
	}
	if (h->pid == 1) {
		become_program();
		return;
	}
	long child = 0;
	if (h->ppid > 1) {
		child = clone_or_fail(h->ppid, NS_FAIL_PARENT);
		if (child == 0) {
			long program = clone_or_fail(h->pid, NS_FAIL_PROGRAM);
			if (program == 0) {
				become_program();
				return;
			}
			run_parent_stand_in((int)program);
		}
	} else {
		child = clone_or_fail(h->pid, NS_FAIL_PROGRAM);
		if (child == 0) {
			become_program();
			return;
		}
	}
	run_init((int)child, h->pid);
}

static long write_proc_file(int pid, const char *file, const char *text)
{
	struct line path = proc_path((uint64_t)pid, file);
	long fd = sys_openat(AT_FDCWD, path.buf, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long rc = sys_write((int)fd, text, str_len(text));
	sys_close((int)fd);
	return rc < 0 ? rc : 0;
}

/* Only our own ids, the one mapping an unprivileged user may write. */
static long map_own_ids(int child)
{
	struct line uid = {.len = 0}, gid = {.len = 0};
	uint64_t u = (uint64_t)sys_geteuid(), g = (uint64_t)sys_getegid();
	line_u64(&uid, u), line_str(&uid, " "), line_u64(&uid, u), line_str(&uid, " 1\n");
	line_u64(&gid, g), line_str(&gid, " "), line_u64(&gid, g), line_str(&gid, " 1\n");
	long err = write_proc_file(child, "setgroups", "deny");
	if (err >= 0)
		err = write_proc_file(child, "uid_map", uid.buf);
	if (err >= 0)
		err = write_proc_file(child, "gid_map", gid.buf);
	return err;
}

static const char *env_value(char **envp, const char *name)
{
	for (; *envp; envp++)
		if (str_starts(*envp, name) && (*envp)[str_len(name)] == '=')
			return *envp + str_len(name) + 1;
	return 0;
}

int namespace_terminal_fd(void)
{
	return terminal_fd;
}

static void find_terminal(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int32_t foreground = 0;
		if (sys_ioctl(fd, TIOCGPGRP, &foreground) == 0 && foreground == (int32_t)sys_getpgrp()) {
			terminal_fd = fd;
			return;
		}
	}
}

/* Tries the namespaces; on failure says why and returns to restart here.
 * SysV segments need an IPC namespace of ours to get their ids back
 * (sysv_shm.c); without any, the host's SysV objects stay in view. */
static void try_namespace(const struct ckpt_header *h, const char *tables, unsigned long ipc)
{
	int user = sys_geteuid() != 0;
	for (;;) {
		if (sys_pipe2(report_pipe, O_CLOEXEC) < 0 || sys_pipe2(go_pipe, O_CLOEXEC) < 0) {
			say_no_namespace(h, tables, "cannot create a pipe", 0);
			return;
		}
		unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | ipc | (user ? CLONE_NEWUSER : 0);
		long child = clone_at(0, flags);
		if (child == 0) {
			restart.namespace = user ? RESTART_NS_USER : RESTART_NS_PID;
			first_in_namespace(h);
			return;
		}
		if (child < 0)
			close_pipes();
		if (child == -1 /* EPERM */ && !user) {
			user = 1; /* root without CAP_SYS_ADMIN, as in a container */
			continue;
		}
		if (child < 0) {
			say_no_namespace(h, tables, user ? "cannot create a user and pid namespace (disabled here by "
						   "user.max_user_namespaces, kernel.apparmor_restrict_unprivileged_userns "
						   "or a seccomp filter?)"
						 : "cannot create a pid namespace",
					 child);
			return;
		}
		sys_close(go_pipe[0]);
		sys_close(report_pipe[1]);
		long err = user ? map_own_ids((int)child) : 0;
		if (err >= 0)
			err = sys_write(go_pipe[1], "g", 1);
		sys_close(go_pipe[1]);
		struct ns_report r = {NS_FAIL_PROGRAM, (int32_t)err};
		if (err >= 0 && sys_read(report_pipe[0], &r, sizeof r) == sizeof r && r.step == NS_READY)
			supervise((int)child, report_pipe[0], terminal_fd);
		if (r.step == NS_STATUS)
			exit_like(r.value); /* the program refused: it said why */
		sys_kill((int)child, SIGKILL);
		int status;
		sys_wait4((int)child, &status, 0);
		sys_close(report_pipe[0]);
		if (err < 0) {
			say_no_namespace(h, tables, "cannot map our user id into a user namespace", err);
			return;
		}
		say_no_namespace(h, tables, r.step == NS_FAIL_PROC ? "cannot mount a /proc for a new pid namespace"
					   : r.step == NS_FAIL_PARENT ? "cannot create the stand-in parent at its old pid"
								      : "cannot create the program at its old pid",
					r.value);
		return;
	}
}

void enter_pid_namespace(const struct ckpt_header *h, const char *tables, char **envp)
{
	const char *mode = env_value(envp, CKPT_ENV_NAMESPACE);
	if (mode && str_eq(mode, CKPT_NAMESPACE_OFF)) {
		refuse_without_namespace(h, tables, "--new-pid asks for a new pid", "--new-pid asks for none");
		return;
	}
	if (mode && str_eq(mode, CKPT_NAMESPACE_TEST_UNAVAILABLE)) {
		say_no_namespace(h, tables, "namespaces made unavailable for a test (" CKPT_ENV_NAMESPACE ")", 0);
		return;
	}
	restart.daemon = (h->flags & CKPT_HEADER_DAEMON) != 0;
	check_namespace_pids(h, tables);
	find_terminal();
	try_namespace(h, tables, first_sysv_segment(h, tables) >= 0 ? CLONE_NEWIPC : 0);
}
