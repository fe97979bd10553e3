/*
 * The library's only constructor: read the launcher's settings, note which
 * descriptors were inherited, and install the checkpoint handler. Nothing
 * else runs at startup: no threads, no allocation, no descriptor left open.
 *
 * The settings leave `environ` (the program does not see them, its
 * children do not inherit them), but exec.c passes them on to whatever any
 * process of the tree execs, which loads libckpt in turn. CKPT_PID names
 * the launched process, the tree's root: the one that takes checkpoints.
 * A process whose CKPT_PID names an ancestor, or that descends from a
 * process of the tree whose parent exited (tree_kin.c), is a member of the tree
 * (docs/process-trees.md): it installs the same handler, which acts only
 * on the root's request. In any other process that gets the variables
 * anyway (one that copied /proc/PID/environ), libckpt is inert: no
 * handler, no status line, and the variables and its LD_PRELOAD entry
 * leave its environment.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "seccomp.h"
#include "namespaces.h"
#include "tree.h"
#include "interrupted_waits.h"
#include "lazy.h"
#include "../sys.h"

static int note_inherited(int fd, void *ctx)
{
	(void)ctx;
	if (fd < 4096)
		ckpt_config.inherited_fds[fd / 64] |= 1ull << (fd % 64);
	return 0;
}

static void record_inherited_fds(void)
{
	for_each_numbered_entry("/proc/self/fd", note_inherited, 0);
}

/* Removes our own entry, the first, from LD_PRELOAD in place, so programs
 * this one starts run without us (and can never write its image). */
static void drop_self_from_preload(void)
{
	char *v = getenv("LD_PRELOAD");
	if (!v)
		return;
	char *rest = v;
	while (*rest && *rest != ':' && *rest != ' ')
		rest++;
	if (!ckpt_preload_entry(v, (size_t)(rest - v)))
		return;
	while (*rest == ':' || *rest == ' ')
		rest++;
	if (!*rest) {
		unsetenv("LD_PRELOAD");
		return;
	}
	size_t i = 0;
	do
		v[i] = rest[i];
	while (rest[i++]);
}

static int parse_pid(const char *s)
{
	int n = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return *s ? -1 : n;
}

static const char *const names[] = {CKPT_ENV_IMAGE, CKPT_ENV_SIGNAL, CKPT_ENV_CONTINUE, CKPT_ENV_DROP_FDS,
				    CKPT_ENV_COMPRESS, CKPT_ENV_STATUS, CKPT_ENV_PID, CKPT_ENV_SECCOMP,
				    CKPT_ENV_NAMESPACES, CKPT_ENV_SIGNAL_BLOCKED};

/* The program's and a child's view: nothing of ckpt in the environment. */
static void forget_settings(void)
{
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		unsetenv(names[i]);
	drop_self_from_preload();
}

/* The trigger signal the launcher chose. */
static int trigger_setting(void)
{
	const char *sig = getenv(CKPT_ENV_SIGNAL);
	int n = 0;
	for (; sig && *sig >= '0' && *sig <= '9'; sig++)
		n = n * 10 + (*sig - '0');
	return n > 0 && n <= CKPT_SIGNAL_MAX ? n : CKPT_DEFAULT_SIGNAL;
}

/* Their text stays in the initial environment block, where `ckpt
 * checkpoint PID` reads them through /proc/PID/environ. */
static int read_settings(void)
{
	const char *image = getenv(CKPT_ENV_IMAGE);
	if (!image || image[0] != '/')
		return -1;
	str_copy(ckpt_config.image_path, sizeof ckpt_config.image_path, image);
	ckpt_config.signal = trigger_setting();
	ckpt_config.keep_running = getenv(CKPT_ENV_CONTINUE) != 0;
	ckpt_config.drop_unsupported_fds = getenv(CKPT_ENV_DROP_FDS) != 0;
	ckpt_config.compress = CKPT_BUILT_WITH_LZ4 && getenv(CKPT_ENV_COMPRESS) != 0;
	ckpt_config.launcher_blocked_signal = getenv(CKPT_ENV_SIGNAL_BLOCKED) != 0;
	unsetenv(CKPT_ENV_SIGNAL_BLOCKED);
	seccomp_note_launch();
	namespaces_note_launch();
	return 0;
}

/* A member (an exec in a process the root started): the root's pid and
 * settings, no status line of its own, and no descriptor counted as
 * inherited at launch, so an unsupported one fails the tree's checkpoint
 * instead of being dropped (only the root's launch fds are the shell's). */
static void become_member(int root)
{
	ckpt_config.pid = root;
	/* Kept for the day its root has exited and it becomes one (daemon_root.c). */
	launch_pid_text(getenv(CKPT_ENV_PID));
	status_attach();
	long n = sys_readlinkat(AT_FDCWD, "/proc/self/exe", ckpt_config.exe_path, sizeof ckpt_config.exe_path - 1);
	ckpt_config.exe_path[n > 0 ? n : 0] = 0;
	record_stderr_identity(&ckpt_config.stderr_dev, &ckpt_config.stderr_ino);
}

static void become_root(char *pid)
{
	launch_pid_text(pid);
	ckpt_config.pid = (int)sys_getpid();
	status_init();
	record_inherited_fds();
	long n = sys_readlinkat(AT_FDCWD, "/proc/self/exe", ckpt_config.exe_path, sizeof ckpt_config.exe_path - 1);
	ckpt_config.exe_path[n > 0 ? n : 0] = 0;
	record_stderr_identity(&ckpt_config.stderr_dev, &ckpt_config.stderr_ino);
	terminal_note_launch();
}

/* A program that stays inert after an exec that held the trigger blocked
 * (exec.c; its root exited meanwhile, as a daemon's parent does) gets the
 * mask its parent gave: it must not run on with a signal blocked forever. */
static void release_held_trigger(void)
{
	if (!getenv(CKPT_ENV_SIGNAL_BLOCKED))
		return;
	uint64_t bit = 1ull << (trigger_setting() - 1);
	sys_rt_sigprocmask(SIG_UNBLOCK, &bit, 0);
}

__attribute__((constructor)) static void ckpt_init(void)
{
	exec_resolve();
	fork_hold_resolve();
	restarted_waits_resolve();
	sigmask_waits_resolve();
	if (!getenv(CKPT_ENV_IMAGE))
		return; /* not launched by ckpt: stay inert */
	char *pid = getenv(CKPT_ENV_PID);
	int root = pid && str_len(pid) == CKPT_PID_DIGITS ? parse_pid(pid) : -1;
	int self = (int)sys_getpid();
	if (root <= 0 || (root != self && !is_ancestor(root) && !descends_from_tree(root)) || read_settings()) {
		release_held_trigger();
		forget_settings();
		return;
	}
	if (root == self)
		become_root(pid);
	else
		become_member(root);
	/* All but CKPT_SIGNAL_BLOCKED: exec.c adds it to an exec that holds
	 * the signal blocked, when the next program will unblock it. */
	exec_remember(names, sizeof names / sizeof names[0] - 1);
	forget_settings();
	/* An exec (the launcher's, or exec.c's in a member) holds the signal
	 * blocked, so a request that comes before this point waits instead of
	 * killing the program. Now that the handler is in place, give the
	 * program the mask its parent gave. */
	install_thread_stop_handler();
	if (install_checkpoint_handler() == 0 && ckpt_config.launcher_blocked_signal) {
		uint64_t bit = 1ull << (ckpt_config.signal - 1);
		sys_rt_sigprocmask(SIG_UNBLOCK, &bit, 0);
	}
}
