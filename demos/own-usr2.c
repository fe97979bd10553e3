/* A program that uses SIGUSR2 itself: it counts the signals its handler
 * sees and prints the count each step. Under ckpt its handler keeps
 * working for plain `kill -USR2`, and `ckpt checkpoint PID` still takes a
 * checkpoint. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t seen;

static void on_usr2(int sig) { (void)sig; seen++; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, 0);
	struct sigaction back;
	sigaction(SIGUSR2, 0, &back);
	printf("handler installed: %s\n", back.sa_handler == on_usr2 ? "yes" : "NO");
	for (int i = 0; i < 12; i++) {
		printf("step %d: the program saw %d SIGUSR2\n", i, (int)seen);
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
