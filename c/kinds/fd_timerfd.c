#define _GNU_SOURCE
/*
 * CKPT_FD_TIMERFD: a timer read through a descriptor (timerfd_create(2)).
 * Captured: its clock, TFD_TIMER_ABSTIME and the expirations not yet read
 * ("ticks") from /proc/self/fdinfo, its interval and time left from
 * timerfd_gettime (fdinfo shows 0 left for a periodic timer that expired
 * unread; timerfd_gettime moves it on, adding the missed expirations to
 * ticks, as the program's next read would).
 *
 * Restored as POSIX timers are (c/stub/timers.c): created in phase 1, so
 * a clock this kernel refuses ends the restart cleanly, and armed in phase
 * 2, just before the program runs again, with the time that was left: the
 * time spent stopped does not count. An absolute timer stays absolute: on
 * CLOCK_REALTIME at its very time (the record holds that time, and one
 * that passed while stopped fires at once, its missed periods counted);
 * on the per-boot clocks at restart time plus the time left. Unread
 * expirations come back exactly through TFD_IOC_SET_TICKS (the ioctl
 * made for CRIU; a kernel without CONFIG_CHECKPOINT_RESTORE lacks it, and
 * then a timerfd with unread expirations is refused at checkpoint).
 *
 * Refused at checkpoint: alarm clocks (CAP_WAKE_ALARM to create again)
 * and TFD_TIMER_CANCEL_ON_SET, whose one state ("the clock was set since")
 * the kernel shows nowhere but in the program's next read.
 */
#include <fcntl.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../range.h"
#include "../sys.h"

#define TFD_TIMER_ABSTIME_ 1
#define TFD_TIMER_CANCEL_ON_SET_ 2
#define TFD_IOC_SET_TICKS_ 0x40085400ul /* _IOW('T', 0, __u64) */
#define CLOCK_REALTIME_ 0
#define CLOCK_MONOTONIC_ 1
#define CLOCK_BOOTTIME_ 7

/* The kernel's struct itimerspec: interval first. */
struct timer_setting {
	int64_t isec, insec, vsec, vnsec;
};

static int restorable_clock(int64_t clock)
{
	return clock == CLOCK_REALTIME_ || clock == CLOCK_MONOTONIC_ || clock == CLOCK_BOOTTIME_;
}

const char *fd_timerfd_record_problem(const struct ckpt_fd *f)
{
	if (!restorable_clock(f->clock) || (f->kind_flags & ~(uint32_t)TFD_TIMER_ABSTIME_) ||
	    !valid_timespec(f->interval_sec, f->interval_nsec) || !valid_timespec(f->remaining_sec, f->remaining_nsec))
		return FD_RECORD_INVALID;
	return fd_stores_nothing(f);
}

#ifdef CKPT_LIB
/* An expiry between two readings: the time left went up (a periodic timer
 * armed again) or ran out (a one-shot timer). */
static int expired_between(const struct timer_setting *a, const struct timer_setting *b)
{
	int a_armed = a->vsec || a->vnsec, b_armed = b->vsec || b->vnsec;
	return (a_armed && !b_armed) || b->vsec > a->vsec || (b->vsec == a->vsec && b->vnsec > a->vnsec);
}

/* Whether this kernel has TFD_IOC_SET_TICKS, tried on a timerfd of our own. */
static int can_set_ticks(void)
{
	uint64_t one = 1;
	long t = sys_timerfd_create(CLOCK_MONOTONIC_, O_CLOEXEC);
	long err = t < 0 ? t : sys_ioctl((int)t, TFD_IOC_SET_TICKS_, &one);
	if (t >= 0)
		sys_close((int)t);
	return err == 0;
}

/* The clock, flags and ticks of fdinfo and the timing of timerfd_gettime
 * must be of one moment: read again while an expiry falls between them.
 * A timer faster than the reading itself is taken as last read. */
static int read_state(struct capture *c, int fd, uint64_t *clock, uint64_t *flags, uint64_t *ticks,
		      struct timer_setting *now)
{
	struct timer_setting before;
	for (int tries = 0; tries < 10; tries++) {
		long err = sys_timerfd_gettime(fd, &before);
		long len = err < 0 ? err : read_fdinfo(c, fd);
		if (len >= 0)
			err = sys_timerfd_gettime(fd, now);
		if (len < 0 || err < 0)
			return capture_fail(c, "cannot read a timerfd's state", len < 0 ? len : err);
		if (fdinfo_number(c->text, "clockid:", 10, clock) || fdinfo_number(c->text, "settime flags:", 8, flags) ||
		    fdinfo_number(c->text, "ticks:", 10, ticks))
			return 1;
		if (!expired_between(&before, now))
			break;
	}
	return 0;
}

int fd_timerfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	uint64_t clock, flags, ticks;
	struct timer_setting t;
	int rc = read_state(c, fd, &clock, &flags, &ticks, &t);
	if (rc)
		return rc < 0 ? -1 : drop_or_fail(c, fd, target, "its state is not in /proc/self/fdinfo");
	if (clock == 8 || clock == 9)
		return drop_or_fail(c, fd, target, "an alarm clock (CLOCK_REALTIME_ALARM/CLOCK_BOOTTIME_ALARM), which "
						   "needs CAP_WAKE_ALARM to create again; use CLOCK_REALTIME or CLOCK_BOOTTIME");
	if (!restorable_clock((int64_t)clock))
		return drop_or_fail(c, fd, target, "a clock ckpt does not restore");
	if (flags & TFD_TIMER_CANCEL_ON_SET_)
		return drop_or_fail(c, fd, target, "TFD_TIMER_CANCEL_ON_SET, whose pending cancellation (the clock was "
						   "set since) the kernel does not show, so a restart could not keep it");
	if (ticks && !can_set_ticks())
		return drop_or_fail(c, fd, target, "expirations not yet read, which this kernel cannot set again "
						   "(TFD_IOC_SET_TICKS needs CONFIG_CHECKPOINT_RESTORE)");
	r->clock = (int32_t)clock;
	r->kind_flags = (uint32_t)(flags & TFD_TIMER_ABSTIME_);
	r->count = ticks;
	r->interval_sec = t.isec, r->interval_nsec = t.insec;
	r->remaining_sec = t.vsec, r->remaining_nsec = t.vnsec;
	if ((flags & TFD_TIMER_ABSTIME_) && clock == CLOCK_REALTIME_ && (t.vsec || t.vnsec)) {
		uint64_t at = now_ns(CLOCK_REALTIME_) + (uint64_t)t.vnsec;
		r->remaining_sec = t.vsec + (int64_t)(at / 1000000000);
		r->remaining_nsec = (int64_t)(at % 1000000000);
	}
	return 1;
}
#endif

#ifdef CKPT_STUB
static __attribute__((noreturn)) void timerfd_die(const struct ckpt_fd *f, const char *what, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "fd ");
	line_u64(&l, (uint64_t)f->fd);
	line_str(&l, what);
	line_str(&l, ": ");
	line_str(&l, errno_text(err));
	die_line(&l);
}

/* Created now, unarmed; its unread expirations set already (trying the
 * ioctl while a refusal is still clean), for good if nothing arms it. */
int fd_timerfd_make(const struct ckpt_fd *f)
{
	int hi = to_high(sys_timerfd_create(f->clock, O_CLOEXEC), "cannot create a timerfd on clock",
			 f->clock == CLOCK_REALTIME_ ? "CLOCK_REALTIME" : f->clock == CLOCK_MONOTONIC_ ? "CLOCK_MONOTONIC" : "CLOCK_BOOTTIME");
	long err = f->count ? sys_ioctl(hi, TFD_IOC_SET_TICKS_, (void *)&f->count) : 0;
	if (err < 0)
		timerfd_die(f, ": a timerfd's unread expirations cannot be set again on this kernel (TFD_IOC_SET_TICKS)", err);
	return hi;
}

void fd_timerfd_restore(const struct ckpt_fd *f)
{
	int hi = fd_timerfd_make(f);
	place(hi, f);
	sys_close(hi);
	set_some_status_flags(f, O_NONBLOCK);
}

/* The expiry to arm: an absolute CLOCK_REALTIME one as recorded, another
 * absolute one the time left from now on its clock, else the time left. */
static void next_expiry(const struct ckpt_fd *f, struct timer_setting *t)
{
	t->vsec = f->remaining_sec, t->vnsec = f->remaining_nsec;
	if (!(f->kind_flags & TFD_TIMER_ABSTIME_) || f->clock == CLOCK_REALTIME_ || !(t->vsec || t->vnsec))
		return;
	struct { int64_t sec, nsec; } now = {0, 0};
	sys_clock_gettime(f->clock, &now);
	t->vsec += now.sec + (t->vnsec + now.nsec) / 1000000000;
	t->vnsec = (t->vnsec + now.nsec) % 1000000000;
}

void fd_timerfd_arm(const struct ckpt_fd *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_fd *f = &fds[i];
		if (f->kind != CKPT_FD_TIMERFD || f->shares_with || f->share_pid /* armed by its first holder */ ||
		    !(f->remaining_sec || f->remaining_nsec || f->interval_sec || f->interval_nsec))
			continue;
		struct timer_setting t = {f->interval_sec, f->interval_nsec, 0, 0};
		next_expiry(f, &t);
		long err = sys_timerfd_settime(f->fd, (int)(f->kind_flags & TFD_TIMER_ABSTIME_), &t, 0);
		if (err < 0)
			timerfd_die(f, ": cannot arm its timerfd again", err);
		/* Arming cleared the unread expirations; an absolute time that
		 * passed while stopped has expired since: both are counted. */
		uint64_t fired = 0;
		struct { int32_t fd; int16_t events, revents; } p = {f->fd, 1 /* POLLIN */, 0};
		if (sys_poll(&p, 1, 0) > 0 && sys_read(f->fd, &fired, sizeof fired) != (long)sizeof fired)
			fired = 0;
		uint64_t ticks = f->count + fired;
		if (ticks && (err = sys_ioctl(f->fd, TFD_IOC_SET_TICKS_, &ticks)) < 0)
			timerfd_die(f, ": cannot set its timerfd's unread expirations again", err);
	}
}
#endif
