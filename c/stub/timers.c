/*
 * POSIX timers (timer_create) come back with the ids the program holds:
 * with PR_TIMER_CREATE_RESTORE_IDS on (Linux 6.17+), timer_create takes
 * the id from *timerid instead of choosing one. It is a process-wide mode,
 * so it is on only while the stub creates them, with every other thread
 * parked in libckpt's handler, and off again before the program runs.
 *
 * Phase 1 creates every saved timer with its id, clock and signal (a
 * thread-directed one, or one on a thread's CPU clock, at the stub's own
 * thread) and deletes them again: a
 * kernel without the mode, a clock or signal this kernel refuses, or two
 * records with one id end the restart before anything is torn down.
 * Phase 2, after the threads are cloned (a cloned thread's new tid is in
 * its glibc descriptor, written by CLONE_PARENT_SETTID), creates them for
 * good, aimed at (or counting the CPU time of) their threads' new tids,
 * and arms each with the time that was left at checkpoint. Signals
 * they raise wait, blocked, until each thread returns from the handler.
 */
#include "stub.h"
#include "../range.h"
#include "../sys.h"

#define PR_TIMER_CREATE_RESTORE_IDS 77
#define RESTORE_IDS_OFF 0
#define RESTORE_IDS_ON 1
#define SIGEV_SIGNAL_ 0
#define SIGEV_NONE_ 1
#define SIGEV_THREAD_ 2
#define SIGEV_THREAD_ID_ 4

/* The kernel's struct sigevent (64 bytes). */
struct kernel_sigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	int32_t pad[11];
};

static __attribute__((noreturn)) void timer_die(const struct ckpt_timer *t, const char *why, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "cannot create POSIX timer ");
	line_u64(&l, (uint64_t)t->id);
	line_str(&l, why);
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

/* A CPU clock of one thread (~tid << 3 | 4 | type), stored with tid 0. */
static int thread_clock(int32_t clock)
{
	return clock < 0 && (clock & 3) != 3 && (clock & 4);
}

static int known_thread(const struct ckpt_header *h, uint32_t i, const struct ckpt_thread *threads)
{
	return i < h->nthreads && (i == 0 || ckpt_tid_word(h->libc, &threads[i]));
}

/* Thread i's tid now: the stub's own thread is thread 0. */
static int32_t tid_now(uint32_t i)
{
	return i ? *(const int32_t *)ckpt_tid_word(restart.hdr->libc, &restart.threads[i]) : (int32_t)sys_gettid();
}

static void check_record(const struct ckpt_header *h, const struct ckpt_timer *t, const struct ckpt_timer *prev,
			 const struct ckpt_thread *threads)
{
	uint32_t n = t->notify;
	int ok = t->id >= 0 && (!prev || prev->id < t->id) && valid_timespec(t->interval_sec, t->interval_nsec) &&
		 valid_timespec(t->remaining_sec, t->remaining_nsec) &&
		 (n == SIGEV_SIGNAL_ || n == SIGEV_NONE_ || n == SIGEV_THREAD_ || n == (SIGEV_SIGNAL_ | SIGEV_THREAD_ID_));
	if (ok && n == (SIGEV_SIGNAL_ | SIGEV_THREAD_ID_))
		ok = known_thread(h, t->target_thread, threads);
	if (ok && thread_clock(t->clock))
		ok = (t->clock >> 3) == -1 && known_thread(h, t->clock_thread, threads);
	if (!ok)
		timer_die(t, " (corrupt image: timer record out of range)", 0);
}

/* `tid` receives a thread-directed signal; `clock_tid`'s CPU time is counted. */
static long create(const struct ckpt_timer *t, int32_t tid, int32_t clock_tid)
{
	struct kernel_sigevent ev = {.value = t->value, .signo = (int32_t)t->signo, .notify = (int32_t)t->notify, .tid = tid};
	int32_t clock = thread_clock(t->clock) ? (int32_t)(~(uint32_t)clock_tid << 3 | ((uint32_t)t->clock & 7)) : t->clock;
	int32_t id = t->id;
	long err = sys_timer_create(clock, &ev, &id);
	if (err < 0)
		return err;
	if (id != t->id) {
		sys_timer_delete(id);
		return -16; /* EBUSY: not the id asked for */
	}
	return 0;
}

void check_timer_records(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_timer *timers = (const void *)(tables + h->process.timers_off);
	const struct ckpt_thread *threads = (const void *)(tables + h->threads_off);
	for (uint32_t i = 0; i < h->process.ntimers; i++)
		check_record(h, &timers[i], i ? &timers[i - 1] : 0, threads);
}

void check_timers(const struct ckpt_header *h, const char *tables)
{
	uint32_t n = h->process.ntimers;
	if (!n)
		return;
	const struct ckpt_timer *timers = (const void *)(tables + h->process.timers_off);
	check_timer_records(h, tables);
	long err = sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_ON, 0, 0, 0);
	if (err < 0) {
		struct line l = {.len = 0};
		line_str(&l, "the image has ");
		line_u64(&l, n);
		line_str(&l, " POSIX timers and this kernel cannot create them with their ids again "
			     "(prctl PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.17): ");
		line_str(&l, errno_text(err));
		die_line(&l);
	}
	uint32_t made = 0;
	int32_t self = (int32_t)sys_gettid();
	for (; made < n && (err = create(&timers[made], self, self)) == 0; made++)
		;
	for (uint32_t i = 0; i < made; i++)
		sys_timer_delete(timers[i].id);
	sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_OFF, 0, 0, 0);
	if (made < n)
		timer_die(&timers[made], " again (tried before restoring)", err);
}

void restore_timers(void)
{
	uint32_t n = restart.hdr->process.ntimers;
	if (!n)
		return;
	long err = sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_ON, 0, 0, 0);
	if (err < 0)
		die("cannot create POSIX timers with their ids (prctl PR_TIMER_CREATE_RESTORE_IDS)", err);
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_timer *t = &restart.timers[i];
		int32_t tid = t->notify & SIGEV_THREAD_ID_ ? tid_now(t->target_thread) : 0;
		err = create(t, tid, thread_clock(t->clock) ? tid_now(t->clock_thread) : 0);
		if (err < 0)
			timer_die(t, "", err);
		struct { int64_t isec, insec, vsec, vnsec; } its = {
			t->interval_sec, t->interval_nsec, t->remaining_sec, t->remaining_nsec};
		if ((its.vsec || its.vnsec) && (err = sys_timer_settime(t->id, 0, &its, 0)) < 0)
			timer_die(t, ": cannot arm it (timer_settime)", err);
	}
	sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_OFF, 0, 0, 0);
}
