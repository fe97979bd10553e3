/*
 * Keeping ckpt's settings out of the program's sight while passing them on
 * through every exec in its place.
 *
 * The launched process must carry LD_PRELOAD and the CKPT_* variables into
 * whatever it execs in its own pid (`env X=1 prog`, `nice`, a `#!`
 * interpreter, a script's `exec`), or the program that ends up there has
 * no handler. Yet the program should not see them, and its children should
 * not inherit them. So the constructor takes them out of `environ` (their
 * text stays in the initial environment block, read through
 * /proc/PID/environ), and the exec functions are interposed: in the
 * launched pid they exec with the environment they are given plus ckpt's
 * entries as the launcher set them; anywhere else (a child, even a vfork
 * child sharing our memory) they change nothing. The libc's execvp, execl...
 * reach execve internally, not through the PLT, so each is wrapped.
 * What this cannot see: a raw execve system call; then the next program
 * runs without ckpt, as it would without it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

extern char **environ;

static const char *kept[8]; /* "CKPT_...=..." entries, in the initial block */
static unsigned nkept;
static char self[CKPT_PATH_MAX]; /* libckpt's own LD_PRELOAD entry */
static char other[CKPT_PATH_MAX]; /* the other libc's build, beside it */

typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
static execvpe_fn real_execvpe;

void exec_resolve(void)
{
	real_execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
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

static int launched(void)
{
	return self[0] && sys_getpid() == ckpt_config.pid;
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
static char **build(char *const envp[], const char **out, char *preload, const char *lib)
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
	if (user && *user) {
		preload[at++] = ':';
		while (*user)
			preload[at++] = *user++;
	}
	preload[at] = 0;
	out[n++] = preload;
	for (unsigned i = 0; i < nkept; i++)
		out[n++] = kept[i];
	out[n] = 0;
	return (char **)out;
}

/* Declares `env_` as envp with ckpt's entries, on the stack, preloading
 * the build for `libc`; returns ENOEXEC when there is none. */
#define WITH_CKPT(envp, libc, what)                                         \
	const char *lib_ = preload_for(libc, what);                         \
	if (!lib_)                                                          \
		return fail(-ENOEXEC);                                      \
	size_t n_, u_;                                                      \
	measure(envp, &n_, &u_);                                            \
	const char *v_[n_ + nkept + 2];                                     \
	char p_[sizeof "LD_PRELOAD=" + sizeof self + 1 + u_];               \
	char **env_ = build(envp, v_, p_, lib_)

static int fail(long rc)
{
	errno = (int)-rc;
	return -1;
}

__attribute__((visibility("default"))) int execve(const char *path, char *const argv[], char *const envp[])
{
	if (!launched())
		return fail(SYS3(__NR_execve, path, argv, envp));
	WITH_CKPT(envp, exec_libc_of_path(path), path);
	return fail(SYS3(__NR_execve, path, argv, env_));
}

__attribute__((visibility("default"))) int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!launched())
		return fail(SYS5(__NR_execveat, fd, "", argv, envp, AT_EMPTY_PATH));
	WITH_CKPT(envp, exec_libc_of_fd(fd), "a program by descriptor");
	return fail(SYS5(__NR_execveat, fd, "", argv, env_, AT_EMPTY_PATH));
}

__attribute__((visibility("default"))) int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!real_execvpe)
		return fail(-ENOSYS);
	if (!launched())
		return real_execvpe(file, argv, envp);
	WITH_CKPT(envp, exec_libc_of_search(file), file);
	return real_execvpe(file, argv, env_);
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
