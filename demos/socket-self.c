/* Opens a socket pair itself and sends a byte through it every step. A
 * checkpoint cannot bring sockets back: it fails, naming the descriptor,
 * unless ckpt was given --drop-unsupported-fds; then, after a restart, the
 * program finds the descriptors closed and says so (EBADF). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 3;
	printf("sockets %d %d\n", s[0], s[1]);
	fflush(stdout);
	for (int i = 0; i < 10; i++) {
		char c = 'x';
		const char *state = "ok";
		if (write(s[0], &c, 1) != 1 || read(s[1], &c, 1) != 1)
			state = strerror(errno);
		printf("step %d socket %s\n", i, state);
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
