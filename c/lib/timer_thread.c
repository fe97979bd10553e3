/*
 * timer_create(SIGEV_THREAD) without the libc's helper threads. glibc delivers
 * such timers through one helper thread that it starts with every signal
 * blocked by raw syscalls, SIGRTMAX included, out of reach of our
 * pthread_sigmask: a checkpoint could never stop it (vim has one, for its
 * search and redraw timeouts). musl starts one thread per timer, but it
 * too blocks every application signal with a raw syscall. So, as musl
 * does, but with SIGRTMAX left open, each such timer gets a
 * thread of its own, made by pthread_create with the program's attributes
 * (detached, as glibc makes its notification threads). The kernel timer
 * signals that thread alone (SIGEV_THREAD_ID) with glibc's SIGTIMER (32),
 * which it keeps blocked and takes with sigtimedwait, then calls the
 * program's function; SIGRTMAX stays open, so it stops like any thread.
 * The timer_t handed back is the kernel's id, which glibc's timer_settime
 * and the rest take as it is.
 *
 * timer_delete ends the thread with a queued SIGTIMER carrying a cookie,
 * never a plain tgkill: SIGTIMER is also glibc's SIGCANCEL, and a tgkill'ed
 * one (SI_TKILL) reaching any other thread would cancel it. Thread ids
 * change at restart, so the thread publishes its id again each time its
 * wait ends (a restart ends it with EINTR).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <linux/futex.h>
#include "ckpt_lib.h"
#include "../sys.h"

#define EXPORT __attribute__((visibility("default")))
#define SIGTIMER 32 /* glibc's and musl's alike */
/* The target thread of SIGEV_THREAD_ID: glibc's headers do not name the member. */
#ifdef __GLIBC__
#define SIGEV_TID(ev) (ev)._sigev_un._tid
#else
#define SIGEV_TID(ev) (ev).sigev_notify_thread_id
#endif
#define MAX_TIMER_THREADS 256
#define END_COOKIE 0x636b7465ull /* "ckte", then the slot: ends that thread only */

struct start {
	clockid_t clock;
	void (*fn)(union sigval);
	union sigval value;
	int32_t done;               /* futex: the thread has made its timer, or failed */
	int err;
	timer_t id;
};

/* Which thread serves which kernel timer, for timer_delete. */
static struct { int32_t tid; timer_t id; } served[MAX_TIMER_THREADS];

static __typeof__(timer_create) *real_create;
static __typeof__(timer_delete) *real_delete;

static int claim_slot(int32_t tid)
{
	for (int i = 0; i < MAX_TIMER_THREADS; i++) {
		int32_t free = 0;
		if (__atomic_compare_exchange_n(&served[i].tid, &free, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return i;
	}
	return -1;
}

static void *serve(void *arg)
{
	struct start *s = arg;
	void (*fn)(union sigval) = s->fn;
	union sigval value = s->value;
	uint64_t all_but_stop = ~(1ull << (CKPT_THREAD_SIGNAL - 1)), timer_sig = 1ull << (SIGTIMER - 1);
	sys_rt_sigprocmask(SIG_SETMASK, &all_but_stop, 0);
	int32_t tid = (int32_t)sys_gettid();
	int slot = claim_slot(tid);
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGTIMER;
	SIGEV_TID(ev) = tid;
	s->err = slot < 0 ? EAGAIN : real_create(s->clock, &ev, &s->id) ? errno : 0;
	int ok = !s->err;
	if (ok)
		served[slot].id = s->id;
	else if (slot >= 0)
		__atomic_store_n(&served[slot].tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	sys_futex(&s->done, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0); /* s is gone after this */
	while (ok) {
		siginfo_t si;
		long sig = sys_rt_sigtimedwait(&timer_sig, &si, 0);
		int32_t was = tid;
		tid = (int32_t)sys_gettid();
		if (was != tid) /* not if timer_delete has just freed the slot */
			__atomic_compare_exchange_n(&served[slot].tid, &was, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		if (sig != SIGTIMER)
			continue; /* EINTR: stopped for a checkpoint, or resumed by a restart */
		if (si.si_code == SI_TIMER)
			fn(value);
		else if (si.si_code == SI_QUEUE && (uint64_t)si.si_value.sival_ptr == (END_COOKIE << 32 | (uint64_t)slot))
			break;
	}
	return 0;
}

EXPORT int timer_create(clockid_t clock, struct sigevent *ev, timer_t *id)
{
	if (!real_create)
		real_create = (__typeof__(timer_create) *)dlsym(RTLD_NEXT, "timer_create");
	if (!ev || ev->sigev_notify != SIGEV_THREAD || !ckpt_config.signal)
		return real_create(clock, ev, id);
	pthread_attr_t attr;
	if (ev->sigev_notify_attributes)
		attr = *ev->sigev_notify_attributes; /* shallow: only read by pthread_create */
	else
		pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	struct start s = {.clock = clock, .fn = ev->sigev_notify_function, .value = ev->sigev_value};
	pthread_t th;
	int err = pthread_create(&th, &attr, serve, &s);
	if (err) {
		errno = EAGAIN;
		return -1;
	}
	while (!__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
		sys_futex(&s.done, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0);
	if (s.err) {
		errno = s.err;
		return -1;
	}
	*id = s.id;
	return 0;
}

EXPORT int timer_delete(timer_t id)
{
	if (!real_delete)
		real_delete = (__typeof__(timer_delete) *)dlsym(RTLD_NEXT, "timer_delete");
	int rc = real_delete(id);
	for (int i = 0; i < MAX_TIMER_THREADS; i++) {
		int32_t tid = __atomic_load_n(&served[i].tid, __ATOMIC_ACQUIRE);
		if (!tid || served[i].id != id)
			continue;
		__atomic_store_n(&served[i].tid, 0, __ATOMIC_RELEASE);
		siginfo_t si = {0};
		si.si_signo = SIGTIMER;
		si.si_code = SI_QUEUE;
		si.si_pid = (pid_t)sys_getpid();
		si.si_uid = (uid_t)sys_getuid();
		si.si_value.sival_ptr = (void *)(END_COOKIE << 32 | (uint64_t)i);
		sys_rt_tgsigqueueinfo((int)sys_getpid(), tid, SIGTIMER, &si);
		break;
	}
	return rc;
}
