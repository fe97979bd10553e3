/*
 * fork() waits, after `ckpt restart --lazy`, until the page server has
 * loaded all memory (lazy_wait.c says why and how), so the child's copy is
 * complete. Should loading not end in time, the fork fails with EAGAIN, as
 * one the kernel refuses does, rather than give the child missing pages as
 * zeros. Threads, vfork and posix_spawn share the memory the server
 * serves: nothing to wait for.
 *
 * The libc's own behind ours: glibc exports it as __fork too, called
 * directly; musl exports only `fork`, found with RTLD_NEXT. The libc's
 * other ways to a fork, which fork inside the libc past this wrapper
 * (`_Fork`, `daemon`, `forkpty`), wait the same way before calling the
 * libc's own, found with RTLD_NEXT. Every lookup is the constructor's
 * (fork_hold_resolve): dlsym is not async-signal-safe, and fork and
 * `_Fork` are, so a program may first call one in a signal handler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pty.h>
#include <unistd.h>
#include "ckpt_lib.h"
#include "lazy.h"

static void *real_Fork, *real_daemon, *real_forkpty;
#ifndef __GLIBC__
static void *real_fork;
#endif

void fork_hold_resolve(void)
{
#ifndef __GLIBC__
	real_fork = dlsym(RTLD_NEXT, "fork");
#endif
	real_Fork = dlsym(RTLD_NEXT, "_Fork");
	real_daemon = dlsym(RTLD_NEXT, "daemon");
	real_forkpty = dlsym(RTLD_NEXT, "forkpty");
}

/* The libc's own `name`, the next definition after this library's: the
 * constructor's lookup, or one now for a call made before it ran (from
 * another library's constructor). */
static void *next_definition(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (!f)
		__atomic_store_n(cache, f = dlsym(RTLD_NEXT, name), __ATOMIC_RELEASE);
	return f;
}

#ifdef __GLIBC__
extern pid_t __fork(void);
#define libc_fork __fork
#else
static pid_t libc_fork(void)
{
	return ((pid_t (*)(void))next_definition(&real_fork, "fork"))();
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

__attribute__((visibility("default"))) pid_t _Fork(void)
{
	pid_t (*libc)(void) = (pid_t (*)(void))next_definition(&real_Fork, "_Fork");
	if (fork_held((const void *)libc))
		return -1;
	return libc();
}

__attribute__((visibility("default"))) int daemon(int nochdir, int noclose)
{
	int (*libc)(int, int) = (int (*)(int, int))next_definition(&real_daemon, "daemon");
	if (fork_held((const void *)libc))
		return -1;
	return libc(nochdir, noclose);
}

__attribute__((visibility("default"))) pid_t forkpty(int *master, char *name, const struct termios *termp,
						    const struct winsize *winp)
{
	pid_t (*libc)(int *, char *, const struct termios *, const struct winsize *) =
		(pid_t (*)(int *, char *, const struct termios *, const struct winsize *))next_definition(&real_forkpty, "forkpty");
	if (fork_held((const void *)libc))
		return -1;
	return libc(master, name, termp, winp);
}
