/* The waiting calls a checkpoint's signal cuts short, carried on
 * (interrupted_waits.c has the rule; restarted_waits.c and
 * sigmask_waits.c are the calls). */
#ifndef CKPT_INTERRUPTED_WAITS_H
#define CKPT_INTERRUPTED_WAITS_H
#include <stdint.h>
#include <time.h>

/* One waiting call in progress, from wait_begin to its end. */
struct wait {
	uint64_t notes_before; /* notes made before the call began */
	uint64_t start_ns; /* on `clock`, for the time left of a timed call */
	int clock;
	int saved_errno;
};

/* Handlers, as they return to the program: if this thread's signal ended a
 * blocking call with EINTR, and no signal of the program's will run its
 * handler the moment ours returns, the call may go on (see the .c). */
void note_interrupted_wait(const void *ucontext);

/* `clock`: what a timeout is measured on, NO_TIMEOUT for an untimed call. */
#define NO_TIMEOUT ((clockid_t)-1)
void wait_begin(struct wait *w, clockid_t clock);

/* Whether the call that has just failed ended only for a checkpoint: then
 * errno is as before the call and the caller calls again. `frame`: the
 * wrapper's own frame, which the call's syscall ran just below. */
int wait_cut_by_checkpoint(struct wait *w, const void *frame);
#define CUT_BY_CHECKPOINT(w) wait_cut_by_checkpoint((w), __builtin_frame_address(0))

/* What is left of a relative timeout after the time already waited (never
 * more than it, never less than nothing): -1 stays -1 (no timeout). */
int wait_ms_left(const struct wait *w, int timeout_ms);
/* Into `left`; returns `left`, or NULL for a NULL `total`. */
const struct timespec *wait_time_left(const struct wait *w, const struct timespec *total, struct timespec *left);

/* The value of `call`, made again while a checkpoint alone ended it: once
 * for an untimed wait; with `ms` (which `call` passes as its timeout) the
 * part of `timeout` left; with `now` the part of `*total` left (a NULL
 * `total`: no timeout). Statement expressions: the wrapper's own frame is
 * the one CUT_BY_CHECKPOINT looks below. */
#define WAIT_UNTIMED(call) \
	({ \
		struct wait w_; \
		wait_begin(&w_, NO_TIMEOUT); \
		__typeof__(call) r_; \
		while ((r_ = (call)) < 0 && CUT_BY_CHECKPOINT(&w_)) \
			; \
		r_; \
	})
#define WAIT_MS(timeout, ms, call) \
	({ \
		const int timeout_ = (timeout); \
		int ms = timeout_; \
		struct wait w_; \
		wait_begin(&w_, timeout_ > 0 ? CLOCK_MONOTONIC : NO_TIMEOUT); \
		__typeof__(call) r_; \
		while ((r_ = (call)) < 0 && CUT_BY_CHECKPOINT(&w_)) \
			ms = wait_ms_left(&w_, timeout_); \
		r_; \
	})
#define WAIT_TIMESPEC(total, now, call) \
	({ \
		const struct timespec *total_ = (total), *now = total_; \
		struct wait w_; \
		wait_begin(&w_, total_ && (total_->tv_sec || total_->tv_nsec) ? CLOCK_MONOTONIC : NO_TIMEOUT); \
		struct timespec left_; \
		__typeof__(call) r_; \
		while ((r_ = (call)) < 0 && CUT_BY_CHECKPOINT(&w_)) \
			now = wait_time_left(&w_, total_, &left_); \
		r_; \
	})

/* The constructor's lookups of the two files' real calls. */
void restarted_waits_resolve(void);
void sigmask_waits_resolve(void);

#endif
