/* Signals pending at the checkpoint come back pending, with their siginfo,
 * on the same thread (test/e2e/pending-signals.test.ts). With every one of
 * them blocked, it has these sent before the checkpoint:
 *   process-wide: kill SIGUSR1 and SIGCHLD, sigqueue SIGRTMIN+2 with values
 *     101, 102, 103, and a POSIX timer's SIGRTMIN+4 (value 55, SI_TIMER);
 *   to itself (main thread): pthread_sigqueue SIGRTMIN+2 value 201;
 *   to a second thread: pthread_kill SIGUSR1, pthread_sigqueue SIGRTMIN+3
 *     value 77.
 * With "worker-takes-it" as argv[2], the main thread blocks the checkpoint
 * signal (SIGUSR2) too, so the second thread takes the request and the
 * stopped main thread must read the process-wide queue for it.
 * With "with-child", it forks a child that waits, so the checkpoint is
 * refused after the signals were read (ckpt refuses programs with
 * children); it ends the child once it has taken its signals.
 * It prints "ready", then waits until its pid changes (a restart) or the
 * file named by argv[1] exists (the --continue test creates it). Then the
 * main thread takes what is pending for it without waiting (sigtimedwait
 * with a zero timeout: they must already be there), and the second thread
 * unblocks its signals and receives them in a handler (which sees the
 * kernel's si_code: glibc's sigtimedwait reports SI_TKILL as SI_USER). Each
 * prints one line per signal in the order received, then "PASS" if that is
 * exactly the list above in the kernel's delivery order, or "FAILED". */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static pid_t first_pid;
static volatile int worker_go, worker_done;
static int mismatches, received;

struct want { const char *who; int sig, code, value; };
static struct want expected[16];
static int nexpected;

static void expect(const char *who, int sig, int code, int value)
{
	expected[nexpected++] = (struct want){who, sig, code, value};
}

static void check(const char *who, int sig, const siginfo_t *sip)
{
	siginfo_t si = *sip;
	{
		int has_value = si.si_code == SI_QUEUE || si.si_code == SI_TIMER;
		int value = has_value ? si.si_value.sival_int : -1;
		printf("%s got %d code %d from %s value %d\n", who, sig, si.si_code,
		       si.si_code == SI_TIMER ? "timer" : si.si_pid == first_pid ? "self" : "other", value);
		const struct want *w = received < nexpected ? &expected[received] : 0;
		if (!w || strcmp(w->who, who) || w->sig != sig || w->code != si.si_code || w->value != value ||
		    (si.si_code != SI_TIMER && si.si_pid != first_pid) || si.si_uid != getuid()) {
			printf("  unexpected (wanted %s %d code %d value %d)\n", w ? w->who : "nothing", w ? w->sig : 0,
			       w ? w->code : 0, w ? w->value : 0);
			mismatches++;
		}
		received++;
	}
}

/* Takes everything pending for the calling thread (its own queue first,
 * then the process's, as the kernel delivers them). */
static void drain(const char *who, const sigset_t *set)
{
	struct timespec zero = {0, 0};
	siginfo_t si;
	int sig;
	while ((sig = sigtimedwait(set, &si, &zero)) > 0)
		check(who, sig, &si);
}

static siginfo_t caught[8];
static volatile int ncaught;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (ncaught < 8)
		caught[ncaught++] = *si;
}

static sigset_t blocked;

static void *worker(void *arg)
{
	(void)arg;
	while (!worker_go)
		usleep(1000);
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
	sigfillset(&sa.sa_mask); /* one at a time, in the kernel's order, not nested */
	sigaction(SIGUSR1, &sa, 0);
	sigaction(SIGRTMIN + 3, &sa, 0);
	pthread_sigmask(SIG_UNBLOCK, &blocked, 0); /* the process's are taken: only its own arrive */
	for (int i = 0; i < ncaught; i++)
		check("worker", caught[i].si_signo, &caught[i]);
	worker_done = 1;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	first_pid = getpid();
	sigemptyset(&blocked);
	int sigs[] = {SIGUSR1, SIGCHLD, SIGRTMIN + 2, SIGRTMIN + 3, SIGRTMIN + 4};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&blocked, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &blocked, 0);
	pthread_t t;
	pthread_create(&t, 0, worker, 0);
	if (argc > 2 && !strcmp(argv[2], "worker-takes-it")) {
		/* By raw syscall: libckpt's pthread_sigmask would (rightly) warn. */
		unsigned long usr2 = 1ul << (SIGUSR2 - 1);
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &usr2, 0, 8);
	}

	union sigval v;
	v.sival_int = 201;
	pthread_sigqueue(pthread_self(), SIGRTMIN + 2, v);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGCHLD);
	for (int i = 101; i <= 103; i++) {
		v.sival_int = i;
		sigqueue(getpid(), SIGRTMIN + 2, v);
	}
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 4};
	ev.sigev_value.sival_int = 55;
	timer_t timer;
	struct itimerspec once = {.it_value = {0, 1000000}};
	timer_create(CLOCK_MONOTONIC, &ev, &timer);
	timer_settime(timer, 0, &once, 0);
	pthread_kill(t, SIGUSR1);
	v.sival_int = 77;
	pthread_sigqueue(t, SIGRTMIN + 3, v);
	sigset_t pending;
	do {
		usleep(1000);
		sigpending(&pending);
	} while (!sigismember(&pending, SIGRTMIN + 4));

	/* The kernel's order: a thread's own queue before the process's, then
	 * the lowest signal first, each real-time queue first in, first out. */
	expect("main", SIGRTMIN + 2, SI_QUEUE, 201);
	expect("main", SIGUSR1, SI_USER, -1);
	expect("main", SIGCHLD, SI_USER, -1);
	for (int i = 101; i <= 103; i++)
		expect("main", SIGRTMIN + 2, SI_QUEUE, i);
	expect("main", SIGRTMIN + 4, SI_TIMER, 55);
	expect("worker", SIGUSR1, SI_TKILL, -1);
	expect("worker", SIGRTMIN + 3, SI_QUEUE, 77);

	pid_t child = 0;
	if (argc > 2 && !strcmp(argv[2], "with-child") && (child = fork()) == 0) {
		pause();
		_exit(0);
	}

	printf("ready\n");
	while (getpid() == first_pid && (argc < 2 || access(argv[1], F_OK) != 0))
		usleep(10000);
	printf(getpid() == first_pid ? "continued\n" : "restarted\n");
	drain("main", &blocked);
	worker_go = 1;
	pthread_join(t, 0);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, 0, 0);
	}
	int ok = !mismatches && received == nexpected;
	printf("%d of %d received\n%s\n", received, nexpected, ok ? "PASS" : "FAILED");
	return ok ? 0 : 1;
}
