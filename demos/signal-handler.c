/* A custom SIGUSR1 handler and a periodic SIGALRM timer: after a restart the
 * dispositions, the mask and the pending interval timer must all be back. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, alarms;

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, 0);
	signal(SIGHUP, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, 0);
	struct itimerval it = {{0, 50000}, {0, 50000}};
	setitimer(ITIMER_REAL, &it, 0);
	for (int i = 0; i < 10; i++) {
		raise(SIGUSR1);
		struct sigaction now;
		sigaction(SIGHUP, 0, &now);
		sigset_t mask;
		sigprocmask(SIG_BLOCK, 0, &mask);
		int started = alarms;
		for (int k = 0; k < 40 && alarms == started; k++)
			usleep(10000);
		printf("step %d usr1=%d hup-ignored=%d winch-blocked=%d timer=%s\n", i, (int)usr1,
		       now.sa_handler == SIG_IGN, sigismember(&mask, SIGWINCH), alarms > started ? "ticking" : "STOPPED");
		fflush(stdout);
		usleep(150000);
	}
	return 0;
}
