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
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#include "interrupted_waits.h"
#include "libc_next.h"

#define EXPORT __attribute__((visibility("default")))

#define RESTARTED_WAITS(X) X(poll) X(select) X(epoll_wait) X(pause) X(nanosleep) X(clock_nanosleep)
RESTARTED_WAITS(REAL_POINTER)

void restarted_waits_resolve(void)
{
	RESTARTED_WAITS(RESOLVE)
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(poll);
	return WAIT_MS(timeout, ms, real(fds, n, ms));
}

/* Linux writes the time left into `t` as it returns, EINTR too, and leaves
 * the sets as they were: calling again with both is the rest of the wait. */
EXPORT int select(int n, fd_set *r, fd_set *wr, fd_set *e, struct timeval *t)
{
	REAL(select);
	return WAIT_UNTIMED(real(n, r, wr, e, t));
}

EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	REAL(epoll_wait);
	return WAIT_MS(timeout, ms, real(ep, ev, max, ms));
}

EXPORT int pause(void)
{
	REAL(pause);
	return WAIT_UNTIMED(real());
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	REAL(nanosleep);
	/* `rem` may be `req` itself (sleep's is): the time left is from a copy.
	 * A NULL `req` still goes to the libc, for its EFAULT. */
	struct timespec total = req ? *req : (struct timespec){0, 0};
	return WAIT_TIMESPEC(req ? &total : NULL, t, real(t, rem));
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
