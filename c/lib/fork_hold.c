/*
 * fork() and _Fork() wait, after `ckpt restart --lazy`, until the page
 * server has loaded all memory (lazy_wait.c says why and how), so the
 * child's copy is complete. They are interposed, and the libc's own found
 * behind us with RTLD_NEXT. Should loading not end in time, the fork fails
 * with EAGAIN, as one the kernel refuses does, rather than give the child
 * missing pages as zeros. Threads, vfork and posix_spawn share the memory
 * and the server serves them all: nothing to wait for.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>
#include "ckpt_lib.h"

static pid_t call_libc(const char *name)
{
	pid_t (*real)(void) = (pid_t (*)(void))dlsym(RTLD_NEXT, name);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real();
}

__attribute__((visibility("default"))) pid_t fork(void)
{
	if (lazy_wait()) {
		errno = EAGAIN;
		return -1;
	}
	return call_libc("fork");
}

__attribute__((visibility("default"))) pid_t _Fork(void)
{
	if (lazy_wait()) {
		errno = EAGAIN;
		return -1;
	}
	return call_libc("_Fork");
}
