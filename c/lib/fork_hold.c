/*
 * fork() waits, after `ckpt restart --lazy`, until the page server has
 * loaded all memory (lazy_wait.c says why and how), so the child's copy is
 * complete. Should loading not end in time, the fork fails with EAGAIN, as
 * one the kernel refuses does, rather than give the child missing pages as
 * zeros. Threads, vfork and posix_spawn share the memory the server
 * serves: nothing to wait for.
 *
 * The libc's own behind ours: glibc exports it as __fork too, called
 * directly, so a fork from a signal handler (async-signal-safe in glibc)
 * never goes through dlsym; musl exports only `fork`, found with
 * RTLD_NEXT. The libc's other ways to a fork, which fork inside the libc
 * past this wrapper (`_Fork`, `daemon`, `forkpty`), wait the same way
 * before calling the libc's own, found with RTLD_NEXT on the first call
 * (dlsym is not async-signal-safe: a `_Fork` from a signal handler that
 * is the program's first is the one case left; limits in
 * docs/lazy-restart.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pty.h>
#include <unistd.h>
#include "ckpt_lib.h"

#ifdef __GLIBC__
extern pid_t __fork(void);
#define libc_fork __fork
#else
static pid_t libc_fork(void)
{
	static pid_t (*real)(void);
	if (!real)
		real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
	return real();
}
#endif

/* Whether a fork through `libc` (the libc's own function) must not go
 * ahead: memory still loading (EAGAIN), or no such libc function (ENOSYS);
 * errno says which. */
static int fork_held(const void *libc)
{
	int loading = lazy_wait();
	if (!loading && libc)
		return 0;
	errno = libc ? EAGAIN : ENOSYS;
	return 1;
}

__attribute__((visibility("default"))) pid_t fork(void)
{
	if (fork_held((const void *)libc_fork))
		return -1;
	return libc_fork();
}

/* The libc's own `name`, the next definition after this library's. */
static void *next_definition(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (!f)
		__atomic_store_n(cache, f = dlsym(RTLD_NEXT, name), __ATOMIC_RELEASE);
	return f;
}

__attribute__((visibility("default"))) pid_t _Fork(void)
{
	static void *real;
	pid_t (*libc)(void) = (pid_t (*)(void))next_definition(&real, "_Fork");
	if (fork_held((const void *)libc))
		return -1;
	return libc();
}

__attribute__((visibility("default"))) int daemon(int nochdir, int noclose)
{
	static void *real;
	int (*libc)(int, int) = (int (*)(int, int))next_definition(&real, "daemon");
	if (fork_held((const void *)libc))
		return -1;
	return libc(nochdir, noclose);
}

__attribute__((visibility("default"))) pid_t forkpty(int *master, char *name, const struct termios *termp,
						    const struct winsize *winp)
{
	static void *real;
	pid_t (*libc)(int *, char *, const struct termios *, const struct winsize *) =
		(pid_t (*)(int *, char *, const struct termios *, const struct winsize *))next_definition(&real, "forkpty");
	if (fork_held((const void *)libc))
		return -1;
	return libc(master, name, termp, winp);
}
