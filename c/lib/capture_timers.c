/*
 * POSIX timers (timer_create): /proc/self/timers names each one (id,
 * signal and sigev_value, notification and its thread, clock) and
 * timer_gettime/timer_getoverrun on the id give its interval, the time
 * left and the overrun count. The stub creates each again with the same
 * id (PR_TIMER_CREATE_RESTORE_IDS), its thread-directed ones aimed at
 * their thread's new tid, and arms it with the time that was left: time
 * spent stopped does not count, as with CRIU, and an absolute
 * CLOCK_REALTIME timer comes back relative (a later clock change no longer
 * moves it). A timer on one thread's CPU clock (pthread_getcpuclockid)
 * names the thread's tid in its clock id: it is tied to that thread's new
 * tid. Refused here, naming the timer: CLOCK_THREAD_CPUTIME_ID itself (the
 * creating thread's clock: the kernel does not say which thread), another
 * process's CPU clocks, alarm clocks (CAP_WAKE_ALARM at restart), dynamic
 * clocks, and a timer tied to a thread that left no tid address.
 */
#include "ckpt_lib.h"
#include "../sys.h"

#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2

static const char *skip_to(const char *at, char c)
{
	while (*at && *at != c && *at != '\n')
		at++;
	return *at == c ? at + 1 : at;
}

static const char *parse_int(const char *at, int64_t *v)
{
	int neg = *at == '-';
	at += neg;
	uint64_t n = 0;
	while (*at >= '0' && *at <= '9')
		n = n * 10 + (uint64_t)(*at++ - '0');
	*v = neg ? -(int64_t)n : (int64_t)n;
	return at;
}

static uint64_t parse_hex(const char *at)
{
	uint64_t n = 0;
	for (;; at++) {
		int d = *at >= '0' && *at <= '9' ? *at - '0' : *at >= 'a' && *at <= 'f' ? *at - 'a' + 10 : -1;
		if (d < 0)
			return n;
		n = n << 4 | (uint64_t)d;
	}
}

static int refuse(struct capture *c, const struct ckpt_timer *t, const char *why)
{
	capture_fail(c, "POSIX timer ", 0);
	line_u64(&c->error, (uint64_t)t->id);
	line_str(&c->error, why);
	return -1;
}

/* The thread table index of thread `tid`, or -1 after refusing `t`. The
 * stub reads a cloned thread's new tid from its tid address. */
static int64_t thread_index(struct capture *c, const struct ckpt_timer *t, int32_t tid)
{
	for (uint32_t i = 0; i < c->nthreads; i++) {
		if (c->threads[i].tid != tid)
			continue;
		if (i && !c->threads[i].clear_child_tid)
			return refuse(c, t, " is tied to a thread created without a tid address (not by pthread_create), "
					    "whose new tid ckpt cannot find at restart");
		return i;
	}
	refuse(c, t, " is tied to thread ");
	line_u64(&c->error, (uint64_t)tid);
	line_str(&c->error, ", which is not one of the program's threads");
	return -1;
}

/* Clock ids the kernel encodes for CPU clocks: ~pid << 3 | per-thread << 2
 * | type, type 3 being a dynamic (posix-clock fd) clock. Stored with pid
 * or tid 0, valid whatever the ids are after a restart. */
static int check_clock(struct capture *c, struct ckpt_timer *t)
{
	int32_t k = t->clock;
	if (k == 0 || k == 1 || k == 2 || k == 7 || k == 11) /* REALTIME MONOTONIC PROCESS_CPUTIME BOOTTIME TAI */
		return 0;
	if (k == 8 || k == 9)
		return refuse(c, t, " uses an alarm clock (CLOCK_REALTIME_ALARM/CLOCK_BOOTTIME_ALARM), which ckpt does "
				    "not restore; use CLOCK_REALTIME or CLOCK_BOOTTIME");
	int64_t id = ~(int64_t)(k >> 3);
	if (k == 3 || (k < 0 && (k & 3) != 3 && (k & 4) && id == 0))
		return refuse(c, t, " counts its creating thread's CPU time (CLOCK_THREAD_CPUTIME_ID), and the kernel "
				    "does not say which thread; use the clock of pthread_getcpuclockid, which names it");
	if (k < 0 && (k & 3) != 3 && (k & 4)) {
		int64_t i = thread_index(c, t, (int32_t)id);
		if (i < 0)
			return -1;
		t->clock_thread = (uint32_t)i;
		t->clock = (int32_t)((~0u << 3) | (uint32_t)(k & 7));
		return 0;
	}
	if (k < 0 && (k & 3) != 3) {
		if (id == 0 || id == sys_getpid()) {
			t->clock = (int32_t)((~0u << 3) | (uint32_t)(k & 3)); /* this process, whatever its pid */
			return 0;
		}
		return refuse(c, t, " counts another process's CPU time, which ckpt does not restore");
	}
	refuse(c, t, " uses clock id ");
	line_str(&c->error, k < 0 ? "-" : "");
	line_u64(&c->error, k < 0 ? (uint64_t)-(int64_t)k : (uint64_t)k);
	line_str(&c->error, ", which ckpt does not restore");
	return -1;
}

static int find_target(struct capture *c, struct ckpt_timer *t)
{
	int64_t i = thread_index(c, t, t->target_tid);
	if (i < 0)
		return -1;
	t->target_thread = (uint32_t)i;
	return 0;
}

/* Kernel timing of one timer; the id came from /proc, so it exists. */
static int read_timing(struct capture *c, struct ckpt_timer *t)
{
	struct { int64_t isec, insec, vsec, vnsec; } its;
	long err = sys_timer_gettime(t->id, &its);
	if (err < 0) {
		refuse(c, t, ": timer_gettime failed: ");
		line_str(&c->error, errno_text(err));
		return -1;
	}
	t->interval_sec = its.isec, t->interval_nsec = its.insec;
	t->remaining_sec = its.vsec, t->remaining_nsec = its.vnsec;
	long ov = sys_timer_getoverrun(t->id);
	t->overrun = ov < 0 ? 0 : (int32_t)ov;
	return 0;
}

/* One "ID:" block; returns where the next starts. */
static const char *parse_one(const char *at, struct ckpt_timer *t)
{
	int64_t v;
	at = parse_int(at + 4, &v);
	t->id = (int32_t)v;
	while (*at && !str_starts(at, "ID: ")) {
		if (str_starts(at, "signal: ")) {
			at = parse_int(at + 8, &v);
			t->signo = (uint32_t)v;
			if (*at == '/')
				t->value = parse_hex(at + 1);
		} else if (str_starts(at, "notify: ")) {
			at += 8;
			t->notify = str_starts(at, "none/") ? 1 : str_starts(at, "thread/") ? 2 : 0;
			at = skip_to(at, '/');
			int tid = str_starts(at, "tid.");
			at = parse_int(skip_to(at, '.'), &v);
			if (tid)
				t->notify |= SIGEV_THREAD_ID, t->target_tid = (int32_t)v;
		} else if (str_starts(at, "ClockID: ")) {
			at = parse_int(at + 9, &v);
			t->clock = (int32_t)v;
		}
		while (*at && *at++ != '\n')
			;
	}
	return at;
}

int capture_timers(struct capture *c)
{
	if (sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0) == 1)
		return capture_fail(c, "the program has timer_create in id-restoring mode (PR_TIMER_CREATE_RESTORE_IDS "
				       "on), which ckpt does not restore; turn it off before a checkpoint", 0);
	long len = read_proc_file(c, "/proc/self/timers");
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/timers", len);
	c->text[len] = 0;
	const char *at = c->text;
	while (*at && !str_starts(at, "ID: "))
		at = skip_to(at, '\n');
	while (*at) {
		if (c->ntimers >= c->max_timers)
			return capture_fail(c, "too many POSIX timers for ckpt's timer table", 0);
		struct ckpt_timer *t = &c->timers[c->ntimers];
		*t = (struct ckpt_timer){0};
		at = parse_one(at, t);
		if (check_clock(c, t) || ((t->notify & SIGEV_THREAD_ID) && find_target(c, t)) || read_timing(c, t))
			return -1;
		/* Sorted by id (the kernel lists them in hash order): the stub
		 * checks ids are distinct in one pass. */
		int32_t id = t->id;
		uint32_t i = c->ntimers++;
		for (; i > 0 && c->timers[i - 1].id > id; i--) {
			struct ckpt_timer x = c->timers[i - 1];
			c->timers[i - 1] = c->timers[i], c->timers[i] = x;
		}
	}
	c->hdr->process.ntimers = c->ntimers;
	return 0;
}
