/* Reports every step whether each descriptor named on its command line is
 * open: descriptors the program inherited but a restart cannot restore must
 * be closed afterwards, and a restart must not pass its own on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 0; i < 10; i++) {
		printf("step %d", i);
		for (int a = 1; a < argc; a++) {
			int fd = atoi(argv[a]);
			int closed = fcntl(fd, F_GETFD) == -1 && errno == EBADF;
			printf(" fd %d %s", fd, closed ? "closed" : "open");
		}
		printf("\n");
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
