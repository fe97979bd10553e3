/* Holds both ends of a pipe with bytes it has not read yet ("abcdefghij",
 * one read per step), and writes a log through a regular file it moved to a
 * high descriptor (40). After a restart the unread bytes must come back in
 * order, none twice, and descriptor 40 must still write at its offset. At
 * the end the pipe is checked for stray bytes and the log is read back. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pipe-self LOG\n");
		return 2;
	}
	int p[2];
	if (pipe(p) || write(p[1], "abcdefghij", 10) != 10)
		return 3;
	/* Non-blocking: a lost byte is a clean failure, not a hang. */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK))
		return 3;
	int f = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || dup2(f, 40) != 40)
		return 3;
	close(f);
	for (int i = 0; i < 10; i++) {
		char c = '?';
		if (read(p[0], &c, 1) != 1) {
			printf("step %d: pipe read failed\n", i);
			return 4;
		}
		if (dprintf(40, "log %d %c\n", i, c) < 0) {
			printf("step %d: write to fd 40 failed\n", i);
			return 5;
		}
		printf("step %d read %c\n", i, c);
		fflush(stdout);
		usleep(200000);
	}
	/* The pipe is empty now, and its two ends still talk to each other. */
	char c = 0;
	if (read(p[0], &c, 1) != -1) {
		printf("stray byte %c in the pipe\n", c);
		return 6;
	}
	if (write(p[1], "Z", 1) != 1 || read(p[0], &c, 1) != 1 || c != 'Z') {
		printf("pipe ends no longer connected\n");
		return 6;
	}
	close(40);
	FILE *back = fopen(argv[1], "r");
	char line[64], want[64];
	int n = 0;
	while (back && fgets(line, sizeof line, back)) {
		snprintf(want, sizeof want, "log %d %c\n", n, 'a' + n);
		if (strcmp(line, want)) {
			printf("log corrupt at line %d\n", n);
			return 7;
		}
		n++;
	}
	printf("pipe ok, log ok, %d lines\n", n);
	return 0;
}
