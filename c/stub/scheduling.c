/*
 * How each thread is scheduled: its nice value, policy (SCHED_OTHER,
 * BATCH, IDLE, FIFO, RR) and real-time priority, I/O priority and timer
 * slack. Each is the thread's own, and each thread sets its own again as
 * the last of its state (restore_scheduling), as the program's threads
 * set them (a background thread at nice 10, a worker under SCHED_IDLE).
 *
 * Some need a right the restart may lack: a nice value below the
 * restart's own (RLIMIT_NICE or CAP_SYS_NICE), a real-time policy
 * (RLIMIT_RTPRIO or CAP_SYS_NICE), leaving SCHED_IDLE (RLIMIT_NICE), a
 * real-time I/O class (CAP_SYS_ADMIN). Phase 1 (check_scheduling) tries
 * each on this process while nothing is torn down yet, so a refusal is a
 * clean one, naming the thread: the lowest nice value of the image stays
 * set (raising it again needs no right, and every thread does), a
 * real-time policy and I/O class are taken back.
 */
#include <linux/prctl.h>
#include "stub.h"
#include "../sys.h"

#define PRIO_PROCESS 0
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_RT 1
#define SCHED_OTHER 0
#define SCHED_FIFO 1
#define SCHED_RR 2
#define SCHED_IDLE 5

static long set_nice(int32_t nice)
{
	return SYS3(__NR_setpriority, PRIO_PROCESS, 0, nice);
}

static long set_policy(uint32_t policy, uint32_t priority)
{
	int32_t param[1] = {(int32_t)priority};
	return SYS3(__NR_sched_setscheduler, 0, policy, param);
}

static long set_ioprio(uint32_t ioprio)
{
	return SYS3(__NR_ioprio_set, IOPRIO_WHO_PROCESS, 0, ioprio);
}

static __attribute__((noreturn)) void refuse(const struct ckpt_thread *t, const char *what, int64_t value,
					     const char *right, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "thread ");
	line_i64(&l, t->tid);
	line_str(&l, what);
	line_i64(&l, value);
	line_str(&l, ", which this restart may not set (");
	line_str(&l, right);
	line_str(&l, "): ");
	line_str(&l, errno_text(err));
	die_line(&l);
}

static uint32_t policy_of(const struct ckpt_thread *t)
{
	return t->sched_policy & ~CKPT_SCHED_RESET_ON_FORK;
}

void check_scheduling(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_thread *th = (const void *)(tables + h->threads_off);
	const int32_t own_nice = 20 - (int32_t)SYS2(__NR_getpriority, PRIO_PROCESS, 0);
	const long own_policy = SYS1(__NR_sched_getscheduler, 0);
	const long own_ioprio = SYS2(__NR_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	const struct ckpt_thread *lowest = 0;
	for (uint32_t i = 0; i < h->nthreads; i++)
		if (th[i].nice < own_nice && (!lowest || th[i].nice < lowest->nice))
			lowest = &th[i];
	long err = lowest ? set_nice(lowest->nice) : 0;
	if (err < 0)
		refuse(lowest, " had nice ", lowest->nice, "RLIMIT_NICE or CAP_SYS_NICE", err);
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct ckpt_thread *t = &th[i];
		uint32_t policy = policy_of(t);
		if (policy == SCHED_FIFO || policy == SCHED_RR) {
			if ((err = set_policy(policy, t->sched_priority)) < 0)
				refuse(t, policy == SCHED_FIFO ? " ran under SCHED_FIFO at priority " : " ran under SCHED_RR at priority ",
				       t->sched_priority, "RLIMIT_RTPRIO or CAP_SYS_NICE", err);
			set_policy((uint32_t)own_policy, 0); /* a real-time policy may always be left */
		} else if (policy != SCHED_IDLE && own_policy == SCHED_IDLE && (err = set_policy(policy, 0)) < 0) {
			refuse(t, " ran under scheduling policy ", policy, "it runs under SCHED_IDLE: RLIMIT_NICE or CAP_SYS_NICE", err);
		}
		if (t->ioprio >> 13 == IOPRIO_CLASS_RT) {
			if ((err = set_ioprio(t->ioprio)) < 0)
				refuse(t, " had the real-time I/O class at level ", t->ioprio & 7, "CAP_SYS_ADMIN", err);
			set_ioprio((uint32_t)own_ioprio);
		}
	}
}

/* Nice first: leaving SCHED_IDLE depends on it. Raising a nice value, the
 * only way it moves here, and every other setting were tried in phase 1. */
void restore_scheduling(const struct ckpt_thread *t)
{
	long err = set_nice(t->nice);
	if (err >= 0)
		err = set_policy(t->sched_policy, t->sched_priority);
	if (err >= 0)
		err = set_ioprio(t->ioprio);
	if (err >= 0)
		err = sys_prctl(PR_SET_TIMERSLACK, t->timer_slack_ns, 0, 0, 0);
	if (err < 0)
		die("cannot set a thread's scheduling again", err);
}
