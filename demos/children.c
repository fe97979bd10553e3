/* A program with one child process: running (`live`, an exec'd sleep),
 * exited but not yet waited for (`zombie`) or stopped (`stopped`). A
 * checkpoint must be refused while the child exists, the program running
 * on; SIGUSR1 makes it kill and reap the child, after which a checkpoint
 * works. It ticks until it has printed N lines (default 60) and, last,
 * checks from inside that it has no child left: "PASS no children". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reap_now;

static void on_usr1(int sig)
{
	(void)sig;
	reap_now = 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "live";
	int n = argc > 2 ? atoi(argv[2]) : 60;
	signal(SIGUSR1, on_usr1);
	pid_t child = fork();
	if (child < 0)
		return 3;
	if (child == 0) {
		if (!strcmp(mode, "live"))
			execlp("sleep", "sleep", "1000", (char *)0);
		if (!strcmp(mode, "stopped"))
			for (;;)
				raise(SIGSTOP);
		_exit(7);
	}
	if (!strcmp(mode, "stopped")) {
		int st;
		waitpid(child, &st, WUNTRACED); /* stopped, not reaped */
	}
	printf("child %d %s\n", (int)child, mode);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		if (reap_now && child) {
			int st = 0;
			kill(child, SIGKILL);
			while (waitpid(child, &st, 0) < 0 && errno == EINTR)
				;
			printf("reaped %d\n", (int)child);
			child = 0;
		}
		printf("tick %d\n", i);
		fflush(stdout);
		usleep(50000);
	}
	int st;
	pid_t w = waitpid(-1, &st, WNOHANG);
	printf(w < 0 && errno == ECHILD ? "PASS no children\n" : "FAIL waitpid gave %d\n", (int)w);
	return 0;
}
