/* Threads parked in every call that takes a signal mask or a set of
 * signals to wait for, each given the full set (SIGRTMAX, ckpt's stop
 * signal, included): ppoll, pselect, epoll_pwait, epoll_pwait2, sigsuspend,
 * sigwait, sigwaitinfo, sigtimedwait, a signalfd. A checkpoint must still
 * stop them all, and none may ever be handed signal 64 (FAIL lines). A
 * SIGUSR1 goes to the sigwait thread, before and after the checkpoint. The
 * waited sets leave out SIGUSR2, the checkpoint trigger, which the program
 * would otherwise take for itself.
 * Its epoll and signal fds make the checkpoint refused, after every thread
 * has stopped: that order is what the test relies on. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static sigset_t full, all_but_trigger, neither; /* neither USR1 nor USR2 */
static int ep, sfd;

static void say(const char *who, int rc)
{
	printf("%s returned %d (%s)\n", who, rc, rc < 0 ? strerror(errno) : "-");
	fflush(stdout);
}

static void *in_ppoll(void *a)
{
	(void)a;
	say("ppoll", ppoll(0, 0, 0, &full));
	return 0;
}

static void *in_pselect(void *a)
{
	(void)a;
	say("pselect", pselect(0, 0, 0, 0, 0, &full));
	return 0;
}

static void *in_epoll_pwait(void *a)
{
	struct epoll_event ev;
	(void)a;
	say("epoll_pwait", epoll_pwait(ep, &ev, 1, -1, &full));
	return 0;
}

static void *in_epoll_pwait2(void *a)
{
	struct epoll_event ev;
	(void)a;
	say("epoll_pwait2", epoll_pwait2(ep, &ev, 1, 0, &full));
	return 0;
}

static void *in_sigsuspend(void *a)
{
	(void)a;
	say("sigsuspend", sigsuspend(&full));
	return 0;
}

static void *in_sigwait(void *a)
{
	(void)a;
	for (;;) {
		int sig = 0;
		sigwait(&all_but_trigger, &sig);
		printf(sig == SIGUSR1 ? "sigwait got %d\n" : "FAIL: sigwait got %d\n", sig);
		fflush(stdout);
	}
	return 0;
}

static void *in_sigwaitinfo(void *a)
{
	(void)a;
	for (;;) {
		int sig = sigwaitinfo(&neither, 0);
		if (sig > 0)
			printf("FAIL: sigwaitinfo got %d\n", sig), fflush(stdout);
	}
	return 0;
}

static void *in_sigtimedwait(void *a)
{
	struct timespec hour = {3600, 0};
	(void)a;
	for (;;) {
		int sig = sigtimedwait(&neither, 0, &hour);
		if (sig > 0)
			printf("FAIL: sigtimedwait got %d\n", sig), fflush(stdout);
	}
	return 0;
}

static void *in_signalfd(void *a)
{
	struct signalfd_siginfo si;
	(void)a;
	ssize_t n = read(sfd, &si, sizeof si);
	if (n == sizeof si)
		printf("FAIL: signalfd read signal %u\n", si.ssi_signo);
	else
		say("signalfd read", (int)n);
	return 0;
}

int main(void)
{
	void *(*fns[])(void *) = {in_ppoll, in_pselect, in_epoll_pwait, in_epoll_pwait2, in_sigsuspend,
				  in_sigwait, in_sigwaitinfo, in_sigtimedwait, in_signalfd};
	sigfillset(&full);
	all_but_trigger = full;
	sigdelset(&all_but_trigger, SIGUSR2);
	neither = all_but_trigger;
	sigdelset(&neither, SIGUSR1);
	ep = epoll_create1(0);
	sfd = signalfd(-1, &neither, 0);
	/* Threads start with every signal blocked (as a signal thread would);
	 * the main thread keeps only the checkpoint trigger deliverable. */
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &full, &old);
	for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		pthread_t t;
		pthread_create(&t, 0, fns[i], 0);
	}
	sigset_t main_mask = full;
	sigdelset(&main_mask, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &main_mask, 0);
	usleep(200000); /* let every thread reach its wait */
	printf("ready: %d threads waiting\n", (int)(sizeof fns / sizeof fns[0]));
	fflush(stdout);
	for (int i = 0; i < 300; i++) {
		printf("step %d\n", i);
		fflush(stdout);
		usleep(100000);
	}
	return 0;
}
