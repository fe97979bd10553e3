/*
 * The blocking calls of the libc that a checkpoint's signal ends with
 * EINTR and that take no signal mask (those are in sigmask_waits.c): each
 * calls the libc's own again, with the time left, when the checkpoint
 * alone ended it (interrupted_waits.c says how that is known). Each stays
 * the libc's call, a cancellation point with its own time conversions.
 *
 * `sleep` and `usleep` are the libc's own definitions over `nanosleep`,
 * as glibc and musl write them: theirs call an internal nanosleep that no
 * wrapper reaches.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#include "interrupted_waits.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(poll);
	struct wait w;
	wait_begin(&w, timeout > 0 ? CLOCK_MONOTONIC : NO_TIMEOUT);
	int r;
	for (int ms = timeout; (r = real(fds, n, ms)) < 0 && CUT_BY_CHECKPOINT(&w);)
		ms = wait_ms_left(&w, timeout);
	return r;
}

/* Linux writes the time left into `t` as it returns, EINTR too, and leaves
 * the sets as they were: calling again with both is the rest of the wait. */
EXPORT int select(int n, fd_set *r, fd_set *wr, fd_set *e, struct timeval *t)
{
	REAL(select);
	struct wait w;
	wait_begin(&w, NO_TIMEOUT);
	int got;
	while ((got = real(n, r, wr, e, t)) < 0 && CUT_BY_CHECKPOINT(&w))
		;
	return got;
}

EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	REAL(epoll_wait);
	struct wait w;
	wait_begin(&w, timeout > 0 ? CLOCK_MONOTONIC : NO_TIMEOUT);
	int r;
	for (int ms = timeout; (r = real(ep, ev, max, ms)) < 0 && CUT_BY_CHECKPOINT(&w);)
		ms = wait_ms_left(&w, timeout);
	return r;
}

EXPORT int pause(void)
{
	REAL(pause);
	struct wait w;
	wait_begin(&w, NO_TIMEOUT);
	int r;
	while ((r = real()) < 0 && CUT_BY_CHECKPOINT(&w))
		;
	return r;
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	REAL(nanosleep);
	struct wait w;
	wait_begin(&w, CLOCK_MONOTONIC);
	/* `rem` may be `req` itself (sleep's is): the time left is from a copy. */
	struct timespec total = req ? *req : (struct timespec){0, 0}, left;
	int r;
	for (const struct timespec *t = req; (r = real(t, rem)) < 0 && CUT_BY_CHECKPOINT(&w);)
		t = wait_time_left(&w, &total, &left);
	return r;
}

/* It returns the error instead of setting errno. An absolute deadline is
 * asked again as it is. */
EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
	REAL(clock_nanosleep);
	struct wait w;
	wait_begin(&w, flags & TIMER_ABSTIME ? NO_TIMEOUT : clock);
	struct timespec total = req ? *req : (struct timespec){0, 0}, left;
	const struct timespec *t = req;
	for (;;) {
		int r = real(clock, flags, t, rem);
		if (r != EINTR)
			return r;
		int was = errno;
		errno = EINTR;
		if (!CUT_BY_CHECKPOINT(&w)) {
			errno = was;
			return r;
		}
		if (!(flags & TIMER_ABSTIME))
			t = wait_time_left(&w, &total, &left);
	}
}

EXPORT unsigned sleep(unsigned seconds)
{
	int was = errno;
	struct timespec t = {.tv_sec = seconds, .tv_nsec = 0};
	if (nanosleep(&t, &t) < 0)
		return (unsigned)t.tv_sec;
	errno = was;
	return 0;
}

EXPORT int usleep(useconds_t us)
{
	struct timespec t = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	return nanosleep(&t, 0);
}
