/* POSIX timers of every notification kind, checked from inside across a
 * checkpoint and restart (test/e2e/posix-timers.test.ts):
 *   A  SIGEV_SIGNAL, SIGRTMIN+1 with a value, CLOCK_MONOTONIC, every 20 ms
 *   B  SIGEV_THREAD_ID to a second thread, SIGRTMIN+2, CLOCK_REALTIME, 30 ms
 *   C  SIGEV_NONE, CLOCK_MONOTONIC, one shot in 1000 s
 *   D  SIGEV_THREAD (libckpt serves it from a thread of its own), 40 ms
 *   E  SIGEV_SIGNAL, SIGRTMIN+3, CLOCK_REALTIME, one shot in 3600 s
 *   F  SIGEV_NONE on CLOCK_PROCESS_CPUTIME_ID, one shot in 500 s of CPU
 *   G  SIGEV_NONE on the second thread's CPU clock (pthread_getcpuclockid),
 *      one shot in 400 s of that thread's CPU time
 * It prints "ready" once A, B and D have fired, then waits until its pid
 * changes (a restart). Then, for every saved id: timer_gettime and
 * timer_getoverrun work, the interval is the same, the time left is no
 * more than before the checkpoint; A, B and D fire again with the right
 * value, B on its thread; G counts the second thread's CPU time (it burns
 * some: G's time left drops by at least as much); every timer_delete
 * works and the ids are gone.
 * Each check prints "ok ..." or "FAIL ...", then "PASS" or "FAILED".
 * With "thread-cpu" it holds a timer on its thread's CPU clock instead,
 * which ckpt refuses, and prints whether the timer is still armed after
 * the refused checkpoint. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { A, B, C, D, E, F, G, N };
static const char *names[N] = {"A", "B", "C", "D", "E", "F", "G"};
static timer_t ids[N];
static struct itimerspec saved[N];
static volatile int fired_a, fired_b, fired_d, bad_value, wrong_thread;
static pthread_t worker;
static volatile int stop_worker;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGRTMIN + 1) {
		fired_a++;
		bad_value += si->si_value.sival_int != 0x5eed;
	} else if (sig == SIGRTMIN + 2) {
		fired_b++;
		bad_value += si->si_value.sival_int != 0xb0b;
		wrong_thread += !pthread_equal(pthread_self(), worker);
	}
}

static void on_thread_timer(union sigval v)
{
	fired_d++;
	bad_value += v.sival_int != 0xd0d;
}

static volatile pid_t worker_tid;
static volatile int burn_request, burn_done, burn_counted;

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* On the worker: burn 20 ms of its own CPU time; G, on its clock, must
 * lose at least that much of its time left. */
static void burn(void)
{
	struct itimerspec r1, r2;
	struct timespec t1, t2;
	timer_gettime(ids[G], &r1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t2);
	while (ns(&t2) - ns(&t1) < 20000000);
	timer_gettime(ids[G], &r2);
	burn_counted = ns(&r1.it_value) - ns(&r2.it_value) >= ns(&t2) - ns(&t1);
	burn_done = 1;
}

static void *work(void *arg)
{
	(void)arg;
	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGRTMIN + 2);
	pthread_sigmask(SIG_UNBLOCK, &b, 0);
	worker_tid = gettid();
	while (!stop_worker) {
		pause(); /* B's signal ends each pause */
		if (burn_request && !burn_done)
			burn();
	}
	return 0;
}

static int make(int i, clockid_t clock, int notify, int sig, int value, long sec, long nsec, int periodic)
{
	/* A timer made and deleted first leaves a hole in the ids: a fresh
	 * process would number the restored timers differently. */
	struct sigevent none = {.sigev_notify = SIGEV_NONE};
	timer_t hole;
	if (timer_create(CLOCK_MONOTONIC, &none, &hole) == 0)
		timer_delete(hole);
	struct sigevent ev = {0};
	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD)
		ev.sigev_notify_function = on_thread_timer;
	if (notify == SIGEV_THREAD_ID)
		ev._sigev_un._tid = worker_tid;
	if (timer_create(clock, &ev, &ids[i]) != 0) {
		printf("FAIL timer_create %s: %s\n", names[i], strerror(errno));
		return -1;
	}
	struct itimerspec it = {.it_value = {sec, nsec}};
	if (periodic)
		it.it_interval = it.it_value;
	return timer_settime(ids[i], 0, &it, 0);
}

static int thread_cpu(void)
{
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id) != 0)
		return 2;
	struct itimerspec it = {.it_value = {1000, 0}};
	timer_settime(id, 0, &it, 0);
	printf("timer %ld\nready\n", (long)(intptr_t)id);
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof line, stdin))
		return 2;
	struct itimerspec now;
	int rc = timer_gettime(id, &now);
	printf("timer after: %s\n", rc == 0 && now.it_value.tv_sec > 0 ? "armed" : "GONE");
	return rc != 0;
}

static int wait_for(volatile int *counter, int from)
{
	for (int k = 0; k < 1000 && *counter <= from; k++)
		usleep(10000);
	return *counter > from;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "thread-cpu"))
		return thread_cpu();
	setvbuf(stdout, 0, _IOLBF, 0);
	struct sigaction sa = {0};
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN + 1, &sa, 0);
	sigaction(SIGRTMIN + 2, &sa, 0);
	sigaction(SIGRTMIN + 3, &sa, 0);
	/* Only the worker takes B's signal: block it here before it starts. */
	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGRTMIN + 2);
	pthread_sigmask(SIG_BLOCK, &b, 0);
	if (pthread_create(&worker, 0, work, 0) != 0)
		return 2;
	while (!worker_tid)
		usleep(1000);
	if (make(A, CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0x5eed, 0, 20000000, 1) ||
	    make(B, CLOCK_REALTIME, SIGEV_THREAD_ID, SIGRTMIN + 2, 0xb0b, 0, 30000000, 1) ||
	    make(C, CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 1000, 0, 0) ||
	    make(D, CLOCK_MONOTONIC, SIGEV_THREAD, 0, 0xd0d, 0, 40000000, 1) ||
	    make(E, CLOCK_REALTIME, SIGEV_SIGNAL, SIGRTMIN + 3, 0xe, 3600, 0, 0) ||
	    make(F, CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, 0, 0, 500, 0, 0))
		return 2;
	clockid_t worker_cpu;
	if (pthread_getcpuclockid(worker, &worker_cpu) || make(G, worker_cpu, SIGEV_NONE, 0, 0, 400, 0, 0))
		return 2;
	if (!wait_for(&fired_a, 0) || !wait_for(&fired_b, 0) || !wait_for(&fired_d, 0)) {
		printf("FAIL timers never fired before the checkpoint\n");
		return 2;
	}
	for (int i = 0; i < N; i++)
		timer_gettime(ids[i], &saved[i]);
	printf("ids");
	for (int i = 0; i < N; i++)
		printf(" %s=%ld", names[i], (long)(intptr_t)ids[i]);
	printf("\nready\n");
	pid_t pid = getpid();
	while (getpid() == pid)
		usleep(10000);
	printf("restarted\n");

	int fails = 0;
#define CHECK(cond, ...) (cond ? printf("ok ") : (fails++, printf("FAIL "))), printf(__VA_ARGS__), printf("\n")
	for (int i = 0; i < N; i++) {
		struct itimerspec now;
		int rc = timer_gettime(ids[i], &now);
		CHECK(rc == 0, "%s timer_gettime on saved id %ld: %s", names[i], (long)(intptr_t)ids[i], rc ? strerror(errno) : "works");
		int ov = timer_getoverrun(ids[i]);
		CHECK(ov >= 0, "%s timer_getoverrun: %d", names[i], ov);
		CHECK(now.it_interval.tv_sec == saved[i].it_interval.tv_sec && now.it_interval.tv_nsec == saved[i].it_interval.tv_nsec,
		      "%s interval %ld.%09ld (was %ld.%09ld)", names[i], (long)now.it_interval.tv_sec, now.it_interval.tv_nsec,
		      (long)saved[i].it_interval.tv_sec, saved[i].it_interval.tv_nsec);
		int periodic = saved[i].it_interval.tv_sec || saved[i].it_interval.tv_nsec;
		const struct timespec *limit = periodic ? &saved[i].it_interval : &saved[i].it_value;
		int armed = now.it_value.tv_sec || now.it_value.tv_nsec;
		int le = now.it_value.tv_sec < limit->tv_sec ||
			 (now.it_value.tv_sec == limit->tv_sec && now.it_value.tv_nsec <= limit->tv_nsec);
		CHECK(armed && le, "%s armed, %ld.%09ld s left, at most %ld.%09ld", names[i], (long)now.it_value.tv_sec,
		      now.it_value.tv_nsec, (long)limit->tv_sec, limit->tv_nsec);
	}
	int a = fired_a, bb = fired_b, d = fired_d;
	CHECK(wait_for(&fired_a, a), "A fires again (SIGRTMIN+1)");
	CHECK(wait_for(&fired_b, bb), "B fires again at its thread (SIGRTMIN+2)");
	CHECK(wait_for(&fired_d, d), "D calls its function again (SIGEV_THREAD)");
	CHECK(!bad_value, "every signal and call carried its sigev_value (%d did not)", bad_value);
	CHECK(!wrong_thread, "every B signal reached the worker thread (%d did not)", wrong_thread);
	burn_request = 1;
	CHECK(wait_for(&burn_done, 0) && burn_counted, "G counts the worker thread's CPU time");
	for (int i = 0; i < N; i++) {
		int rc = timer_delete(ids[i]);
		CHECK(rc == 0, "%s timer_delete: %s", names[i], rc ? strerror(errno) : "works");
		struct itimerspec now;
		rc = timer_gettime(ids[i], &now);
		CHECK(rc != 0 && errno == EINVAL, "%s id gone after timer_delete", names[i]);
	}
	stop_worker = 1;
	pthread_kill(worker, SIGRTMIN + 2);
	pthread_join(worker, 0);
	printf(fails ? "FAILED\n" : "PASS\n");
	return fails != 0;
}
