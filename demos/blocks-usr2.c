/* Blocks SIGUSR2 for a while (as a program guarding a critical section
 * might), then unblocks it: a checkpoint requested meanwhile waits, then
 * happens. Prints whether it is blocking at each step. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, 0);
	for (int i = 0; i < 12; i++) {
		if (i == 6)
			sigprocmask(SIG_UNBLOCK, &usr2, 0);
		printf("step %d: %s\n", i, i < 6 ? "blocking SIGUSR2" : "not blocking");
		fflush(stdout);
		usleep(150000);
	}
	return 0;
}
