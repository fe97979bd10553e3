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
 * libc's own, found with RTLD_NEXT by the constructor
 * (fork_hold_resolve, libc_next.h): fork and `_Fork` are
 * async-signal-safe, dlsym is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pty.h>
#include <unistd.h>
#include "ckpt_lib.h"
#include "lazy.h"
#include "libc_next.h"

#define FORK_VARIANTS(X) X(_Fork) X(daemon) X(forkpty)
FORK_VARIANTS(REAL_POINTER)
#ifndef __GLIBC__
REAL_POINTER(fork)
#endif

void fork_hold_resolve(void)
{
#ifndef __GLIBC__
	RESOLVE(fork)
#endif
	FORK_VARIANTS(RESOLVE)
}

#ifdef __GLIBC__
extern pid_t __fork(void);
#define libc_fork __fork
#else
static pid_t libc_fork(void)
{
	REAL(fork);
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

__attribute__((visibility("default"))) pid_t _Fork(void)
{
	REAL(_Fork);
	if (fork_held((const void *)real))
		return -1;
	return real();
}

__attribute__((visibility("default"))) int daemon(int nochdir, int noclose)
{
	REAL(daemon);
	if (fork_held((const void *)real))
		return -1;
	return real(nochdir, noclose);
}

__attribute__((visibility("default"))) pid_t forkpty(int *master, char *name, const struct termios *termp,
						    const struct winsize *winp)
{
	REAL(forkpty);
	if (fork_held((const void *)real))
		return -1;
	return real(master, name, termp, winp);
}
