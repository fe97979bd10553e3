/*
 * The one libc interposition threads need: a thread must never block the
 * signal that stops it for a checkpoint, or the checkpoint would wait for
 * it in vain. pthread_sigmask and sigprocmask behave as glibc's (which also
 * keeps its own signals 32 and 33 unblockable) with CKPT_THREAD_SIGNAL
 * treated the same way. Raw syscalls: no need to find the next definition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include "ckpt_lib.h"
#include "../sys.h"

/* The signals no mask of the program's holds: the libc's own 32 and 33,
 * and the stop signal once ckpt is active in this process. */
uint64_t never_blocked(void)
{
	return (1ull << 31) | (1ull << 32) | (ckpt_config.signal ? 1ull << (CKPT_THREAD_SIGNAL - 1) : 0);
}

__attribute__((visibility("default"))) int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	uint64_t want;
	const uint64_t *ask = 0;
	if (set) {
		__builtin_memcpy(&want, set, sizeof want);
		if (how == SIG_BLOCK || how == SIG_SETMASK) {
			want &= ~never_blocked();
			/* Blocking everything for a moment (around fork, in dash or
			 * posix_spawn) is routine; naming the trigger is deliberate.
			 * (Only asked with ckpt active, so the stop signal is in.) */
			int everything = (~want & ~(never_blocked() | (1ull << 8) | (1ull << 18))) == 0;
			if (ckpt_config.signal && (want >> (ckpt_config.signal - 1) & 1) && !everything)
				trigger_blocked_warning();
		}
		ask = &want;
	}
	uint64_t was = 0;
	long err = sys_rt_sigprocmask(how, ask, old ? &was : 0);
	if (err < 0)
		return (int)-err;
	if (old) {
		sigemptyset(old);
		__builtin_memcpy(old, &was, sizeof was);
	}
	return 0;
}

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int err = pthread_sigmask(how, set, old);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
