/*
 * What differs between the two builds of libckpt: libckpt.so against glibc,
 * libckpt-musl.so against musl (scripts/c-sources.ts). Everything else
 * reaches the kernel through raw syscalls and so is the same in both.
 *
 * The real sigaction behind our interposed one: it supplies the
 * sa_restorer a raw rt_sigaction would need, and musl's also unblocks its
 * own internal signals the first time a handler is installed. glibc
 * exports it as __sigaction; musl exports only `sigaction` itself, which
 * our definition hides, so it is found behind us with RTLD_NEXT. The
 * constructor's first call resolves it, before any signal can arrive.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include "ckpt_lib.h"

#ifdef __GLIBC__
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

int libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return __sigaction(sig, act, old);
}
#else
int libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	static __typeof__(sigaction) *real;
	if (!real)
		real = (__typeof__(sigaction) *)dlsym(RTLD_NEXT, "sigaction");
	return real(sig, act, old);
}
#endif
