/*
 * Keeping ckpt's settings out of the program's sight while passing them on
 * through every exec in the tree.
 *
 * Every process of the tree (docs/process-trees.md) must carry LD_PRELOAD
 * and the CKPT_* variables into whatever it execs (`env X=1 prog`, a `#!`
 * interpreter, a shell running a command, make running a recipe), or the
 * program that ends up there has no handler and the tree cannot be
 * checkpointed. Yet no program should see them. So the constructor takes
 * them out of `environ` (their text stays in the initial environment
 * block, read through /proc/PID/environ), and the exec functions and
 * posix_spawn are interposed: in the launched process and in every member
 * they exec with the environment they are given (`env -i`'s empty one
 * too) plus ckpt's entries as the launcher set them, CKPT_PID still the
 * root's. The libc's execvp, execl... reach execve internally, not through
 * the PLT, so each is wrapped.
 * The trigger is held blocked across the exec (CKPT_SIGNAL_BLOCKED tells
 * the next constructor to unblock it), so a request arriving between the
 * two programs waits for the new handler instead of killing the process;
 * only when the next program's loader is one libckpt loads into: a static
 * or set-user-ID program would keep it blocked, unlike without ckpt.
 * What this cannot see: a raw execve system call; the next program then
 * runs without ckpt, and a checkpoint is refused while it runs. system()
 * and popen(), whose posix_spawn is called inside the libc, are done
 * again through ours (shell_commands.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include "ckpt_lib.h"
#include "../sys.h"

extern char **environ;

static const char *kept[12]; /* "CKPT_...=..." entries: the initial block's, or ours */
static unsigned nkept;
static char self[CKPT_PATH_MAX]; /* libckpt's own LD_PRELOAD entry */
static char other[CKPT_PATH_MAX]; /* the other libc's build, beside it */

typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
static execvpe_fn real_execvpe;
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
			char *const[], char *const[]);
static spawn_fn real_spawn, real_spawnp;

static const char signal_blocked_entry[] = CKPT_ENV_SIGNAL_BLOCKED "=" CKPT_ENV_FLAG_ON;

void exec_resolve(void)
{
	real_execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
	real_spawn = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
	real_spawnp = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
}

void exec_remember_entry(const char *entry)
{
	size_t name = 0;
	while (entry[name] && entry[name] != '=')
		name++;
	for (unsigned i = 0; i < nkept; i++)
		if (str_len(kept[i]) > name && !__builtin_memcmp(kept[i], entry, name + 1)) {
			kept[i] = entry; /* the same variable, a new value */
			return;
		}
	if (nkept < sizeof kept / sizeof kept[0])
		kept[nkept++] = entry;
}

void exec_remember(const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n && nkept < sizeof kept / sizeof kept[0]; i++) {
		const char *v = getenv(names[i]);
		if (v)
			kept[nkept++] = v - str_len(names[i]) - 1;
	}
	const char *p = getenv("LD_PRELOAD");
	size_t len = 0;
	while (p && p[len] && p[len] != ':' && p[len] != ' ')
		len++;
	if (len && len < sizeof self && ckpt_preload_entry(p, len)) {
		__builtin_memcpy(self, p, len);
		self[len] = 0;
		size_t dir = len;
		while (dir && self[dir - 1] != '/')
			dir--;
		if (dir + sizeof CKPT_LIB_OTHER_FILE <= sizeof other) {
			__builtin_memcpy(other, self, dir);
			__builtin_memcpy(other + dir, CKPT_LIB_OTHER_FILE, sizeof CKPT_LIB_OTHER_FILE);
		}
	}
}

/* The build to preload into a program whose loader is `libc`'s
 * (exec_target.c): ours, or the other one, extracted beside ours by the
 * launcher when this ckpt has it; 0 when it has not: the exec is refused
 * in one line rather than started without ckpt or stopped by its loader. */
static const char *preload_for(uint32_t libc, const char *what)
{
	libc = EXEC_LIBC(libc);
	if (!libc || libc == CKPT_LIBC_OWN)
		return self;
	if (other[0] && sys_faccessat2(AT_FDCWD, other, 4 /* R_OK */, 0) == 0)
		return other;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: cannot run ");
	line_str(&l, what);
	line_str(&l, libc == CKPT_LIBC_MUSL ? ": it is linked with musl, and this ckpt was built without musl support"
					    : ": it is linked with glibc, and ckpt's glibc library is missing");
	say(&l);
	return 0;
}

/* The root or a member: CKPT_PID set by the constructor (or inherited
 * across fork). An inert process passes everything through. */
static int in_tree(void)
{
	return self[0] && ckpt_config.pid;
}

int exec_in_tree(void)
{
	return in_tree();
}

/* Blocks the trigger for the exec when the next program will load libckpt
 * (its loader is one we know, `libc` nonzero) and the program had not
 * blocked it itself: 1 when it did, so CKPT_SIGNAL_BLOCKED goes along and
 * a failed exec unblocks it again. */
static int hold_trigger(uint32_t libc)
{
	int sig = ckpt_config.signal;
	if (!EXEC_LIBC(libc) || (libc & EXEC_SECURE) || sig < 1 || sig > CKPT_SIGNAL_MAX)
		return 0;
	uint64_t bit = 1ull << (sig - 1), old = 0;
	if (sys_rt_sigprocmask(SIG_BLOCK, &bit, &old) < 0)
		return 0;
	return !(old & bit);
}

static void release_trigger(int held)
{
	if (!held)
		return;
	uint64_t bit = 1ull << (ckpt_config.signal - 1);
	sys_rt_sigprocmask(SIG_UNBLOCK, &bit, 0);
}

/* The launched program execs, in its place, a static one (a script that
 * ends in `exec ./static-tool`, valgrind's launcher its tool): nothing
 * loads libckpt into it, so from then on the trigger signal has no handler
 * and would end it, as `kill -USR2` ends any program without one. Said
 * as it happens; a member's static program is named by the refusal
 * of the tree's checkpoint instead. */
static void warn_static_in_place(uint32_t libc, const char *what)
{
	if (!(libc & EXEC_STATIC) || (int)sys_getpid() != ckpt_config.pid)
		return;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: ");
	line_str(&l, CKPT_STATUS_WARNING);
	line_str(&l, what);
	line_str(&l, " is statically linked, so ckpt cannot be loaded into it: the program cannot be checkpointed "
		     "while it runs, and a checkpoint signal may end it");
	say(&l);
}

/* How many entries envp has, and the length of its LD_PRELOAD value. */
static void measure(char *const envp[], size_t *n, size_t *user)
{
	*n = 0, *user = 0;
	for (char *const *e = envp; e && *e; e++, ++*n)
		if (str_starts(*e, "LD_PRELOAD="))
			*user = str_len(*e + 11);
}

/* envp without LD_PRELOAD and CKPT_*, then ours: "LD_PRELOAD=self[:user's]"
 * in `preload`, and the launcher's CKPT_* entries. */
static char **build(char *const envp[], const char **out, char *preload, const char *lib, int held)
{
	size_t n = 0;
	const char *user = 0;
	for (char *const *e = envp; e && *e; e++) {
		if (str_starts(*e, "LD_PRELOAD="))
			user = *e + 11;
		else if (!str_starts(*e, CKPT_ENV_PREFIX))
			out[n++] = *e;
	}
	size_t at = 0;
	for (const char *s = "LD_PRELOAD="; *s;)
		preload[at++] = *s++;
	for (const char *s = lib; *s;)
		preload[at++] = *s++;
	/* The user's entries, without any of ckpt's: bash has its own
	 * unsetenv, so our constructor cannot take LD_PRELOAD out of its
	 * variables, and it passes ours on to every command it runs. */
	while (user && *user) {
		size_t len = 0;
		while (user[len] && user[len] != ':' && user[len] != ' ')
			len++;
		if (len && !ckpt_preload_entry(user, len)) {
			preload[at++] = ':';
			for (size_t i = 0; i < len; i++)
				preload[at++] = user[i];
		}
		user += len;
		while (*user == ':' || *user == ' ')
			user++;
	}
	preload[at] = 0;
	out[n++] = preload;
	for (unsigned i = 0; i < nkept; i++)
		out[n++] = kept[i];
	if (held)
		out[n++] = signal_blocked_entry;
	out[n] = 0;
	return (char **)out;
}

/* Declares `env_` as envp with ckpt's entries, on the stack, preloading
 * the build for `libc`, and `held_` (hold_trigger's answer, for
 * release_trigger after an exec that failed); returns ENOEXEC when there
 * is no build for it. */
#define WITH_CKPT(envp, libc, what)                                         \
	const uint32_t libc_ = (libc);                                      \
	const char *lib_ = preload_for(libc_, what);                        \
	if (!lib_)                                                          \
		return fail(-ENOEXEC);                                      \
	size_t n_, u_;                                                      \
	measure(envp, &n_, &u_);                                            \
	const char *v_[n_ + nkept + 3];                                     \
	char p_[sizeof "LD_PRELOAD=" + sizeof self + 1 + u_];               \
	const int held_ = hold_trigger(libc_);                              \
	char **env_ = build(envp, v_, p_, lib_, held_)

static int fail(long rc)
{
	errno = (int)-rc;
	return -1;
}

__attribute__((visibility("default"))) int execve(const char *path, char *const argv[], char *const envp[])
{
	if (!in_tree())
		return fail(SYS3(__NR_execve, path, argv, envp));
	WITH_CKPT(envp, exec_libc_of_path(path), path);
	warn_static_in_place(libc_, path);
	long rc = SYS3(__NR_execve, path, argv, env_);
	release_trigger(held_);
	return fail(rc);
}

__attribute__((visibility("default"))) int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!in_tree())
		return fail(SYS5(__NR_execveat, fd, "", argv, envp, AT_EMPTY_PATH));
	WITH_CKPT(envp, exec_libc_of_fd(fd), "a program by descriptor");
	warn_static_in_place(libc_, "the program by descriptor");
	long rc = SYS5(__NR_execveat, fd, "", argv, env_, AT_EMPTY_PATH);
	release_trigger(held_);
	return fail(rc);
}

__attribute__((visibility("default"))) int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!real_execvpe)
		return fail(-ENOSYS);
	if (!in_tree())
		return real_execvpe(file, argv, envp);
	WITH_CKPT(envp, exec_libc_of_search(file), file);
	warn_static_in_place(libc_, file);
	int rc = real_execvpe(file, argv, env_);
	int err = errno;
	release_trigger(held_);
	errno = err;
	return rc;
}

__attribute__((visibility("default"))) int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl family: the variadic list as an argv on the stack. */
#define ARGV_FROM(first, ap, extra)                                         \
	size_t argc_ = 1;                                                   \
	va_start(ap, first);                                                \
	while (va_arg(ap, const char *))                                    \
		argc_++;                                                    \
	va_end(ap);                                                         \
	const char *argv_[argc_ + 1];                                       \
	argv_[0] = first;                                                   \
	va_start(ap, first);                                                \
	for (size_t i_ = 1; i_ <= argc_; i_++)                              \
		argv_[i_] = va_arg(ap, const char *);                       \
	extra;                                                              \
	va_end(ap)

__attribute__((visibility("default"))) int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	ARGV_FROM(arg, ap, (void)0);
	return execve(path, (char *const *)argv_, environ);
}

__attribute__((visibility("default"))) int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	ARGV_FROM(arg, ap, (void)0);
	return execvpe(file, (char *const *)argv_, environ);
}

__attribute__((visibility("default"))) int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp = 0;
	ARGV_FROM(arg, ap, envp = va_arg(ap, char *const *));
	return execve(path, (char *const *)argv_, envp);
}

/* posix_spawn, posix_spawnp (make, Python's subprocess): the child gets
 * ckpt's entries as an exec would. Its mask is the caller's, or the
 * attributes' with POSIX_SPAWN_SETSIGMASK: the trigger is held blocked in
 * whichever it takes, so the new program's constructor unblocks it. */
static int spawn_with_ckpt(spawn_fn real, uint32_t libc, pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
			   char *const argv[], char *const envp[])
{
	if (!real)
		return ENOSYS;
	if (!in_tree())
		return real(pid, file, actions, attr, argv, envp);
	const char *lib = preload_for(libc, file);
	if (!lib)
		return ENOEXEC;
	size_t n, u;
	measure(envp, &n, &u);
	const char *v[n + nkept + 3];
	char p[sizeof "LD_PRELOAD=" + sizeof self + 1 + u];
	short flags = 0;
	if (attr)
		posix_spawnattr_getflags(attr, &flags);
	posix_spawnattr_t own;
	int held = 0, sig = ckpt_config.signal;
	if (attr && (flags & POSIX_SPAWN_SETSIGMASK) && EXEC_LIBC(libc) && !(libc & EXEC_SECURE) && sig >= 1 && sig <= CKPT_SIGNAL_MAX) {
		sigset_t mask;
		__builtin_memcpy(&own, attr, sizeof own); /* a plain struct in glibc and musl */
		posix_spawnattr_getsigmask(&own, &mask);
		held = !sigismember(&mask, sig);
		sigaddset(&mask, sig);
		posix_spawnattr_setsigmask(&own, &mask);
		attr = &own;
	} else {
		held = hold_trigger(libc);
	}
	char **env = build(envp, v, p, lib, held);
	int rc = real(pid, file, actions, attr, argv, env);
	if (attr != &own)
		release_trigger(held);
	return rc;
}

__attribute__((visibility("default"))) int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
						       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with_ckpt(real_spawn, in_tree() ? exec_libc_of_path(path) : 0, pid, path, actions, attr, argv, envp);
}

__attribute__((visibility("default"))) int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
							const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with_ckpt(real_spawnp, in_tree() ? exec_libc_of_search(file) : 0, pid, file, actions, attr, argv, envp);
}
