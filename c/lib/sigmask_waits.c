/*
 * The other ways a thread can block the stop signal: the masks that the
 * waiting calls apply for as long as they wait (pselect, ppoll, epoll_pwait,
 * epoll_pwait2, sigsuspend). A thread parked in one of them with SIGRTMAX
 * in its mask would never stop for a checkpoint, so, as sigmask.c does for
 * sigprocmask, the mask is passed on without it.
 *
 * The sigwait family (sigwait, sigwaitinfo, sigtimedwait) and signalfd
 * take a different set: the signals to *take* instead of having them run
 * their handlers. A thread waiting for SIGRTMAX that way (a signal thread
 * doing sigwait on a full set is common) would swallow the stop signal:
 * the kernel hands it to the program, our handler never runs, the
 * checkpoint waits in vain and the program sees a signal it never sent.
 * Left out of that set, SIGRTMAX runs our handler instead (the wait then
 * ends with EINTR, as any handled signal ends it). So in both cases the bit
 * is cleared; only the reason differs.
 *
 * The real functions are the libc's (RTLD_NEXT), found by the constructor
 * (libc_next.h, REAL): they stay cancellation points and keep
 * their time conversions. Each is called
 * again, for the time left, when a checkpoint's signal alone ended it
 * (interrupted_waits.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include "ckpt_lib.h"
#include "interrupted_waits.h"
#include "libc_next.h"

#define EXPORT __attribute__((visibility("default")))

/* Declared here too: musl's headers before 1.2.5 have none, and it is
 * defined below all the same (a glibc program may call it). */
int epoll_pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *t, const sigset_t *mask);

#define SIGMASK_WAITS(X) \
	X(pselect) X(ppoll) X(epoll_pwait) X(epoll_pwait2) X(sigsuspend) X(sigwait) X(sigwaitinfo) X(sigtimedwait) X(signalfd)
SIGMASK_WAITS(REAL_POINTER)

void sigmask_waits_resolve(void)
{
	SIGMASK_WAITS(RESOLVE)
}

/* A copy of `set` without the stop signal, or `set` itself when libckpt is
 * inert (not launched by ckpt) or there is none. */
static const sigset_t *without_stop(const sigset_t *set, sigset_t *copy)
{
	if (!set || !ckpt_config.signal || !sigismember(set, CKPT_THREAD_SIGNAL))
		return set;
	*copy = *set;
	sigdelset(copy, CKPT_THREAD_SIGNAL);
	return copy;
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *mask)
{
	REAL(pselect);
	sigset_t copy;
	return WAIT_TIMESPEC(t, now, real(n, r, w, e, now, without_stop(mask, &copy)));
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
	REAL(ppoll);
	sigset_t copy;
	return WAIT_TIMESPEC(t, now, real(fds, n, now, without_stop(mask, &copy)));
}

EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	REAL(epoll_pwait);
	sigset_t copy;
	return WAIT_MS(timeout, ms, real(ep, ev, max, ms, without_stop(mask, &copy)));
}

EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *t, const sigset_t *mask)
{
	REAL(epoll_pwait2);
	if (!real) { /* musl before 1.2.5 has none; its programs cannot call it, but dlsym can */
		errno = ENOSYS;
		return -1;
	}
	sigset_t copy;
	return WAIT_TIMESPEC(t, now, real(ep, ev, max, now, without_stop(mask, &copy)));
}

EXPORT int sigsuspend(const sigset_t *mask)
{
	REAL(sigsuspend);
	sigset_t copy;
	return WAIT_UNTIMED(real(without_stop(mask, &copy)));
}

EXPORT int sigwait(const sigset_t *set, int *sig)
{
	REAL(sigwait);
	sigset_t copy;
	return real(without_stop(set, &copy), sig);
}

EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	REAL(sigwaitinfo);
	sigset_t copy;
	return WAIT_UNTIMED(real(without_stop(set, &copy), info));
}

EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *t)
{
	REAL(sigtimedwait);
	sigset_t copy;
	return WAIT_TIMESPEC(t, now, real(without_stop(set, &copy), info, now));
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	REAL(signalfd);
	sigset_t copy;
	return real(fd, without_stop(mask, &copy), flags);
}
