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
 * RTLD_NEXT. _Fork is not interposed: the same name is the only way to
 * reach glibc's, and programs that call it directly are rare (limits in
 * docs/lazy-restart.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
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

__attribute__((visibility("default"))) pid_t fork(void)
{
	if (lazy_wait()) {
		errno = EAGAIN;
		return -1;
	}
	return libc_fork();
}
