/* Makes itself non-dumpable (as a program that changes its credentials
 * does): then only root may read its /proc/PID/environ, where ckpt's status
 * line lives. It does so on SIGUSR1, or right after its first checkpoint
 * with `undumpable after-checkpoint` (a --continue checkpoint interrupts
 * its sleep). Ticks N times (default 100), then checks its memory is intact
 * and prints PASS. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

static volatile sig_atomic_t drop;

static void on_usr1(int sig)
{
	(void)sig;
	drop = 1;
}

int main(int argc, char **argv)
{
	int after = argc > 1 && !strcmp(argv[1], "after-checkpoint");
	int n = argc > 2 ? atoi(argv[2]) : 100;
	static unsigned pattern[1 << 16];
	for (unsigned i = 0; i < 1 << 16; i++)
		pattern[i] = i * 2654435761u;
	signal(SIGUSR1, on_usr1);
	/* The checkpoint signal is blocked except inside ppoll, so a checkpoint
	 * always interrupts a sleep (it could otherwise land between two); raw
	 * syscall: libckpt would warn about a program blocking its trigger. */
	sigset_t trigger, during_sleep;
	sigemptyset(&trigger);
	sigaddset(&trigger, SIGUSR2);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &trigger, &during_sleep, 8);
	sigdelset(&during_sleep, SIGUSR2);
	for (int i = 0; i < n; i++) {
		printf("tick %d\n", i);
		fflush(stdout);
		struct timespec ts = {0, 50000000};
		int interrupted = ppoll(NULL, 0, &ts, &during_sleep) < 0 && errno == EINTR;
		if ((drop || (after && interrupted)) && prctl(PR_GET_DUMPABLE) == 1) {
			prctl(PR_SET_DUMPABLE, 0);
			printf("undumpable\n");
		}
	}
	for (unsigned i = 0; i < 1 << 16; i++)
		if (pattern[i] != i * 2654435761u)
			return printf("FAIL at %u\n", i), 1;
	printf("PASS\n");
	return 0;
}
