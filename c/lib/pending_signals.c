/*
 * Pending signals: sent to the program but not delivered yet (it blocks
 * them). The checkpoint handlers run with every signal blocked, so whatever
 * was pending is still queued when the image is taken, and a restart would
 * lose it. The only way to read a queued siginfo is to dequeue it
 * (rt_sigtimedwait with a zero timeout), so each queue is read into the
 * signal table and queued again at once, in the same order, by the thread
 * that read it: the running program (--continue, or a failed checkpoint)
 * loses nothing, and the image holds every instance with its full siginfo.
 *
 * A thread's rt_sigtimedwait takes its private queue first, then the
 * process-wide one, so which queue a signal sits in comes from
 * /proc/thread-self/status: SigPnd (this thread's), ShdPnd (the process's).
 * Each stopped thread reads its own queue in its stop handler; the
 * coordinator reads its own, then has the process-wide one read once every
 * other thread is stopped with every signal blocked.
 *
 * Who may queue what (verified on 6.18): the kernel keeps a process from
 * forging a kill() or kernel siginfo (si_code >= 0, or SI_TKILL) except
 * when the sending task is the target itself: rt_tgsigqueueinfo to one's
 * own tid, rt_sigqueueinfo from the thread-group leader (tid == pid). So
 * each thread queues its own queue again, and the process-wide one is read
 * and queued again by the leader: by the coordinator if it is the leader,
 * else by the stopped leader on the coordinator's request. Without a
 * leader (it exited), process-wide pending signals refuse the checkpoint.
 *
 * Not taken: the trigger signal (a request still pending is answered by
 * the checkpoint under way: threads.c) and CKPT_THREAD_SIGNAL; SIGKILL
 * and SIGSTOP cannot be taken (nor be pending while the process runs).
 */
#include <fcntl.h>
#include <signal.h>
#include <linux/futex.h>
#include "ckpt_lib.h"
#include "../sys.h"

enum { TOO_MANY = 1, UNREADABLE = 2, NOT_REQUEUED = 3 };

static uint64_t bit(int sig)
{
	return 1ull << (sig - 1);
}

static uint64_t taken_set(void)
{
	return ~(bit(SIGKILL) | bit(SIGSTOP) | bit(ckpt_config.signal) | bit(CKPT_THREAD_SIGNAL));
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One mask line ("SigPnd:\t" or "ShdPnd:\t") of this thread's status. */
static int pending_in(const char *key, uint64_t *set)
{
	char buf[4096];
	long fd = sys_openat(AT_FDCWD, "/proc/thread-self/status", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	long n = sys_read((int)fd, buf, sizeof buf - 1);
	sys_close((int)fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *at = line_value(buf, key);
	if (!at)
		return -1;
	uint64_t v = 0;
	for (int d = 0; d < 16; d++) {
		int x = hex_digit(at[d]); /* the text ends in a NUL: no digit */
		if (x < 0)
			return -1;
		v = v << 4 | (uint64_t)x;
	}
	*set = v & taken_set();
	return 0;
}

static void lock(void)
{
	int32_t idle = 0;
	while (!__atomic_compare_exchange_n(&ckpt_sync.signal_lock, &idle, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		sys_futex(&ckpt_sync.signal_lock, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, 0);
		idle = 0;
	}
}

static void unlock(void)
{
	__atomic_store_n(&ckpt_sync.signal_lock, 0, __ATOMIC_RELEASE);
	sys_futex(&ckpt_sync.signal_lock, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0);
}

static void failed(int why)
{
	int32_t none = 0;
	__atomic_compare_exchange_n(&ckpt_sync.signals_failed, &none, why, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Dequeues one queue (`key`: SigPnd, this thread's; ShdPnd, the
 * process's) into the table; returns where its records start. */
static uint32_t dequeue(const char *key, int32_t tid)
{
	struct { long sec, nsec; } zero = {0, 0};
	uint32_t first = ckpt_sync.nsignals;
	uint64_t set;
	int readable;
	while ((readable = pending_in(key, &set) == 0) && set) {
		if (ckpt_sync.nsignals >= ckpt_sync.max_signals) {
			failed(TOO_MANY);
			break;
		}
		struct ckpt_signal *s = &ckpt_sync.signals[ckpt_sync.nsignals];
		uint64_t one = bit(__builtin_ctzll(set) + 1);
		long sig = sys_rt_sigtimedwait(&one, s->info, &zero);
		if (sig <= 0) {
			failed(UNREADABLE); /* listed but not there: stop rather than spin */
			break;
		}
		s->signo = (uint32_t)sig;
		s->tid = tid;
		s->thread = CKPT_SIGNAL_PROCESS; /* a thread's index is known once all are stopped */
		ckpt_sync.nsignals++;
	}
	if (!readable)
		failed(UNREADABLE); /* unknown is not empty */
	return first;
}

/* Queues records [first, end) again, in order; a thread-directed one only
 * by its own thread (see above). */
static void requeue(uint32_t first, uint32_t end)
{
	int pid = (int)sys_getpid();
	for (uint32_t i = first; i < end; i++) {
		struct ckpt_signal *s = &ckpt_sync.signals[i];
		long rc = s->tid ? sys_rt_tgsigqueueinfo(pid, s->tid, (int)s->signo, s->info)
				 : sys_rt_sigqueueinfo(pid, (int)s->signo, s->info);
		if (rc < 0)
			failed(NOT_REQUEUED);
	}
}

/* The leader takes its own queue and the process's, and only then queues
 * either again: rt_sigtimedwait would take a signal from its own queue
 * before the process's. */
static void leader_takes_both(uint32_t own_first, uint32_t own_end)
{
	lock();
	uint32_t shared = dequeue("ShdPnd:\t", 0);
	requeue(own_first, own_end);
	requeue(shared, ckpt_sync.nsignals);
	unlock();
}

/* In a stopped thread's handler: its own queue. The leader's stays out
 * until it has taken the process's too (wait_released). */
void take_thread_signals(void)
{
	int32_t tid = (int32_t)sys_gettid();
	lock();
	uint32_t first = dequeue("SigPnd:\t", tid);
	if (tid == (int32_t)sys_getpid()) {
		ckpt_sync.leader_first = first;
		ckpt_sync.leader_end = ckpt_sync.nsignals;
		ckpt_sync.leader_holds = 1;
	} else {
		requeue(first, ckpt_sync.nsignals);
	}
	unlock();
}

/* Where a stopped thread waits to be released; the leader also serves the
 * coordinator's request to take the process-wide queue, and queues its own
 * again if no request came (a checkpoint that failed earlier). */
void wait_released(int32_t release)
{
	int leader = sys_gettid() == sys_getpid();
	while (__atomic_load_n(&ckpt_sync.release, __ATOMIC_ACQUIRE) == release) {
		if (leader && __atomic_load_n(&ckpt_sync.shared_request, __ATOMIC_ACQUIRE) == 1) {
			leader_takes_both(ckpt_sync.leader_first, ckpt_sync.leader_end);
			ckpt_sync.leader_holds = 0;
			__atomic_store_n(&ckpt_sync.shared_request, 2, __ATOMIC_RELEASE);
			sys_futex(&ckpt_sync.shared_request, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0);
		}
		sys_futex(&ckpt_sync.release, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, (uint32_t)release, 0);
	}
	if (leader && ckpt_sync.leader_holds) {
		ckpt_sync.leader_holds = 0;
		requeue(ckpt_sync.leader_first, ckpt_sync.leader_end);
	}
}

/* The leader sleeps on `release`: each wake makes it look at the request
 * again, and a wake that comes before it sleeps is repeated a moment later. */
static void ask_leader(void)
{
	struct { long sec, nsec; } moment = {0, 1000000};
	__atomic_store_n(&ckpt_sync.shared_request, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&ckpt_sync.shared_request, __ATOMIC_ACQUIRE) != 2) {
		sys_futex(&ckpt_sync.release, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 0x7fffffff, 0);
		sys_futex(&ckpt_sync.shared_request, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &moment);
	}
}

/* The coordinator's own queue, then the process's (see above for who). */
static int take_own_and_shared(struct capture *c)
{
	int32_t pid = (int32_t)sys_getpid(), tid = (int32_t)sys_gettid();
	if (tid == pid) {
		lock();
		uint32_t first = dequeue("SigPnd:\t", tid), end = ckpt_sync.nsignals;
		unlock();
		leader_takes_both(first, end);
		return 0;
	}
	take_thread_signals();
	for (uint32_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].tid == pid) {
			ask_leader();
			return 0;
		}
	uint64_t set;
	if (pending_in("ShdPnd:\t", &set) < 0)
		return capture_fail(c, "cannot read the pending signals (/proc/thread-self/status)", 0);
	if (!set)
		return 0;
	c->error.len = 0;
	line_str(&c->error, "signal ");
	line_u64(&c->error, (uint64_t)__builtin_ctzll(set) + 1);
	line_str(&c->error, " is pending for the process and its main thread has exited: only that thread "
			    "could queue it again with its sender");
	return -1;
}

void signals_begin(struct capture *c)
{
	ckpt_sync.signals = c->signals;
	ckpt_sync.max_signals = c->max_signals;
	ckpt_sync.nsignals = 0;
	ckpt_sync.signals_failed = 0;
	ckpt_sync.signal_lock = 0;
	ckpt_sync.shared_request = 0;
	ckpt_sync.leader_holds = 0;
}

static void name_failure(struct capture *c, int why)
{
	c->error.len = 0;
	if (why == TOO_MANY) {
		line_str(&c->error, "more than ");
		line_u64(&c->error, c->max_signals);
		line_str(&c->error, " signals are pending (they stay queued)");
	} else if (why == UNREADABLE) {
		line_str(&c->error, "cannot read the pending signals of a thread (/proc/thread-self/status)");
	} else {
		line_str(&c->error, "a pending signal read for the checkpoint could not be queued again "
				    "(rt_sigqueueinfo); it is lost");
	}
}

int capture_pending_signals(struct capture *c)
{
	if (take_own_and_shared(c))
		return -1;
	c->nsignals = ckpt_sync.nsignals;
	if (ckpt_sync.signals_failed) {
		name_failure(c, ckpt_sync.signals_failed);
		return -1;
	}
	for (uint32_t i = 0; i < c->nsignals; i++) {
		struct ckpt_signal *s = &c->signals[i];
		for (uint32_t t = 0; s->tid && t < c->nthreads; t++)
			if (c->threads[t].tid == s->tid)
				s->thread = t;
		if (s->tid && s->thread == CKPT_SIGNAL_PROCESS)
			return capture_fail(c, "a thread-directed pending signal's thread is not in the thread table", 0);
	}
	return 0;
}
