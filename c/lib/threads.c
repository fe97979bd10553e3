/*
 * Stopping every thread for a checkpoint, and letting them go again.
 *
 * The thread that takes the checkpoint request (the coordinator) sends
 * CKPT_THREAD_SIGNAL to every other thread listed in /proc/self/task. Each
 * one captures its own kernel-held state into its slot of the thread table,
 * marks its resume point, and sleeps on a futex until the coordinator bumps
 * `release`. The coordinator lists the tasks again until no new thread
 * appears, so threads created meanwhile are caught too; threads that exit
 * instead of answering are noticed by polling and left out.
 *
 * The internal signal is SIGRTMAX (64): glibc keeps 32 and 33 for itself,
 * programs allocate real-time signals from SIGRTMIN upwards, and libckpt
 * keeps the program from blocking it (sigmask.c), so a thread that blocks
 * the trigger signal still stops. It goes with a value (send_stop); one
 * without is the program's, and gets the program's action (sigaction.c).
 */
#include <signal.h>
#include <linux/futex.h>
#include "ckpt_lib.h"
#include "interrupted_waits.h"
#include "../sys.h"

#define FUTEX_WAIT_P (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_P (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define ANSWER_DEADLINE_NS (10ull * 1000000000ull)

static void wait_while_equal(volatile int32_t *word, int32_t value)
{
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == value)
		sys_futex((void *)word, FUTEX_WAIT_P, (uint32_t)value, 0);
}

static void wake_all(volatile int32_t *word)
{
	sys_futex((void *)word, FUTEX_WAKE_P, 0x7fffffff, 0);
}

/* The trigger handler of a thread that finds another checkpoint under way
 * waits here; it can still be stopped by the internal signal meanwhile. */
int coordinator_begin(void)
{
	for (;;) {
		int32_t idle = 0;
		if (__atomic_compare_exchange_n(&ckpt_sync.busy, &idle, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
		int32_t epoch = __atomic_load_n(&ckpt_sync.restarts, __ATOMIC_ACQUIRE);
		wait_while_equal(&ckpt_sync.busy, 1);
		/* A restart while we waited means our request was taken with the
		 * checkpoint that stopped the program: do not repeat it. */
		if (__atomic_load_n(&ckpt_sync.restarts, __ATOMIC_ACQUIRE) != epoch)
			return -1;
	}
}

void coordinator_release(void)
{
	__atomic_add_fetch(&ckpt_sync.release, 1, __ATOMIC_RELEASE);
	wake_all(&ckpt_sync.release);
	__atomic_store_n(&ckpt_sync.busy, 0, __ATOMIC_RELEASE);
	wake_all(&ckpt_sync.busy);
}

/* Kept out of line: everything it writes on the stack lies below the
 * resume point of the handler that calls it, so it is dead after restart. */
__attribute__((noinline)) static void arrive_and_wait(int32_t release)
{
	__atomic_add_fetch(&ckpt_sync.arrived, 1, __ATOMIC_RELEASE);
	wake_all(&ckpt_sync.arrived);
	wait_released(release); /* the leader may be asked to take the process's pending signals */
}

__attribute__((noinline)) static void leave_stub_and_wait(int32_t release)
{
	__atomic_sub_fetch(&ckpt_restart_info.threads_in_stub, 1, __ATOMIC_RELEASE);
	wake_all(&ckpt_restart_info.threads_in_stub);
	wait_while_equal(&ckpt_sync.release, release);
}

/* Queued with a value, so the handler tells it from a signal 64 the
 * program sent (sigaction.c); a process may queue any si_code < 0 to itself. */
static long send_stop(int pid, int tid)
{
	siginfo_t info = {.si_signo = CKPT_THREAD_SIGNAL, .si_code = SI_QUEUE};
	info.si_pid = pid;
	info.si_uid = (uint32_t)sys_getuid();
	info.si_value.sival_int = CKPT_STOP_SIGVAL;
	return sys_rt_tgsigqueueinfo(pid, tid, CKPT_THREAD_SIGNAL, &info);
}

static int ours(const siginfo_t *info)
{
	return info->si_code == SI_QUEUE && info->si_value.sival_int == CKPT_STOP_SIGVAL && info->si_pid == (int)sys_getpid();
}

static void thread_stop_handler(int sig, siginfo_t *info, void *uc)
{
	if (!ours(info)) {
		run_program_handler(sig, info, uc);
		return;
	}
	if (!__atomic_load_n(&ckpt_sync.busy, __ATOMIC_ACQUIRE)) {
		note_interrupted_wait(uc); /* late: the checkpoint is over, but its signal ended a call */
		return;
	}
	int32_t release = __atomic_load_n(&ckpt_sync.release, __ATOMIC_ACQUIRE);
	int32_t slot = __atomic_fetch_add(&ckpt_sync.next_slot, 1, __ATOMIC_ACQ_REL);
	struct ckpt_thread *t = &ckpt_sync.threads[slot];
	capture_thread(t, uc);
	take_thread_signals();
	if (ckpt_save_context(&t->resume))
		leave_stub_and_wait(release);
	else
		arrive_and_wait(release);
	note_interrupted_wait(uc);
}

int install_thread_stop_handler(void)
{
	return install_handler(CKPT_THREAD_SIGNAL, thread_stop_handler, 0);
}

struct task_list {
	int32_t *tids;
	uint32_t n, cap;
};

static int zombie(struct capture *c, int tid)
{
	return task_ended(c, "/proc/self/task", tid);
}

static int listed(const struct task_list *l, int tid)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->tids[i] == tid)
			return 1;
	return 0;
}

struct signalling {
	struct capture *c;
	struct task_list *sent;
	int pid, self, added;
};

/* A handler the program set for the stop signal by raw system call (past
 * sigaction.c) would take it, and the checkpoint would wait in vain: said
 * at once, before any thread is signalled. */
static int stop_handler_ours(struct capture *c)
{
	struct ckpt_sigaction act = {0, 0, 0, 0};
	if (sys_rt_sigaction(CKPT_THREAD_SIGNAL, 0, &act) == 0 && act.handler == (uint64_t)(uintptr_t)thread_stop_handler)
		return 1;
	c->error.len = 0;
	line_str(&c->error, "the program replaced ckpt's handler for signal 64 by a system call of its own, so its threads cannot be stopped");
	return 0;
}

static int signal_if_new(int tid, void *ctx)
{
	struct signalling *s = ctx;
	if (tid == s->self || listed(s->sent, tid) || zombie(s->c, tid))
		return 0;
	if (s->sent->n == 0 && !stop_handler_ours(s->c))
		return 1; /* stop; c->error says why */
	if (s->sent->n >= s->sent->cap) {
		capture_fail(s->c, "too many threads", 0);
		return 1; /* stop; c->error says why */
	}
	if (send_stop(s->pid, tid) == 0)
		s->sent->tids[s->sent->n++] = tid, s->added++;
	return 0;
}

/* Signals every live thread not signalled yet; returns how many it added. */
static int signal_new_threads(struct capture *c, struct task_list *sent, int pid, int self)
{
	struct signalling s = {c, sent, pid, self, 0};
	int rc = for_each_numbered_entry("/proc/self/task", signal_if_new, &s);
	if (rc < 0)
		return capture_fail(c, "cannot list the program's threads", rc);
	return rc ? -1 : s.added;
}

static int arrived(int tid)
{
	for (int32_t i = 1; i < __atomic_load_n(&ckpt_sync.next_slot, __ATOMIC_ACQUIRE); i++)
		if (ckpt_sync.threads[i].tid == tid)
			return 1;
	return 0;
}

/* Waits for every signalled thread that still exists; fails after a
 * deadline if one never answers (it blocks the signal by raw syscall). */
static int wait_for_threads(struct capture *c, struct task_list *sent, int pid)
{
	struct { long sec, nsec; } tick = {0, 10000000};
	/* By the clock: each arrival wakes us early, so counting ticks would
	 * reach the deadline after 1,000 threads that all answered. */
	uint64_t since = monotonic_ns();
	int32_t before = -1;
	for (;;) {
		int32_t got = __atomic_load_n(&ckpt_sync.arrived, __ATOMIC_ACQUIRE);
		if ((uint32_t)got >= sent->n)
			return 0; /* every signalled thread is in its handler */
		/* Looking for threads that exited instead costs a pass over every
		 * thread (and arrived() is another): done each time the count
		 * stands still, not at each arrival, or 1,000 threads would cost
		 * a billion comparisons. */
		if (got != before) {
			before = got;
			sys_futex(&ckpt_sync.arrived, FUTEX_WAIT_P, (uint32_t)got, &tick);
			continue;
		}
		uint32_t gone = 0, missing_tid = 0;
		for (uint32_t i = 0; i < sent->n; i++)
			if (sys_tgkill(pid, sent->tids[i], 0) < 0 || (!arrived(sent->tids[i]) && zombie(c, sent->tids[i])))
				gone++;
			else if (!arrived(sent->tids[i]))
				missing_tid = (uint32_t)sent->tids[i];
		if ((uint32_t)got + gone >= sent->n && !missing_tid)
			return 0;
		if (monotonic_ns() - since > ANSWER_DEADLINE_NS) {
			c->error.len = 0;
			line_str(&c->error, "thread ");
			line_u64(&c->error, missing_tid);
			line_str(&c->error, " did not stop for the checkpoint (it blocks signal 64)");
			return -1;
		}
		sys_futex(&ckpt_sync.arrived, FUTEX_WAIT_P, (uint32_t)got, &tick);
	}
}

/* Puts the thread-group leader in slot 0: the stub's own thread becomes it. */
static void leader_first(struct capture *c, int pid)
{
	for (uint32_t i = 1; i < c->nthreads; i++)
		if (c->threads[i].tid == pid) {
			struct ckpt_thread t = c->threads[0];
			c->threads[0] = c->threads[i];
			c->threads[i] = t;
		}
}

int stop_other_threads(struct capture *c, const void *uc)
{
	int pid = (int)sys_getpid(), self = (int)sys_gettid();
	struct task_list sent = {.tids = c->tids, .cap = c->max_threads};
	ckpt_sync.threads = c->threads;
	ckpt_sync.arrived = 0;
	ckpt_sync.registered_ring_tid = 0;
	ckpt_sync.next_slot = 1;
	signals_begin(c);
	capture_thread(&c->threads[0], uc);
	c->threads[0].flags |= CKPT_THREAD_COORDINATOR;
	for (;;) {
		int added = signal_new_threads(c, &sent, pid, self);
		if (added < 0 || wait_for_threads(c, &sent, pid))
			return -1;
		if (added == 0)
			break;
	}
	c->nthreads = (uint32_t)__atomic_load_n(&ckpt_sync.next_slot, __ATOMIC_ACQUIRE);
	leader_first(c, pid);
	return 0;
}

struct ckpt_thread *own_slot(struct capture *c)
{
	int self = (int)sys_gettid();
	for (uint32_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].tid == self)
			return &c->threads[i];
	return &c->threads[0];
}

/* After a restart, in the coordinator: every thread has left the stub's
 * arena once threads_in_stub reaches zero; then it can go. */
void wait_threads_out_of_stub(void)
{
	int32_t n;
	while ((n = __atomic_load_n(&ckpt_restart_info.threads_in_stub, __ATOMIC_ACQUIRE)) > 0)
		sys_futex(&ckpt_restart_info.threads_in_stub, FUTEX_WAIT_P, (uint32_t)n, 0);
	__atomic_add_fetch(&ckpt_sync.restarts, 1, __ATOMIC_RELEASE);
}
