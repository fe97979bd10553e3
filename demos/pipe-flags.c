/* Sets status flags on its pipe ends and on stdin, and checks them every
 * step: pipe A's read end non-blocking (its write end not), pipe B's write
 * end non-blocking (its read end not), pipe C in packet mode (O_DIRECT on its write end, two
 * writes unread: each must come back as its own packet), and stdin made
 * non-blocking by the program itself. After a restart each descriptor must
 * carry exactly the flags it had, and the packets their boundaries.
 * "packets" leaves two packets unread in pipe C; "async" makes pipe B's
 * read end signal-driven (O_ASYNC); "async0" does that to stdin. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STATUS (O_NONBLOCK | O_DIRECT | O_APPEND)

int main(int argc, char **argv)
{
	int a[2], b[2], c[2];
	int packets = argc > 1 && !strcmp(argv[1], "packets");
	if (pipe(a) || pipe(b) || pipe2(c, O_DIRECT))
		return 3;
	if (fcntl(a[0], F_SETFL, O_NONBLOCK) || fcntl(b[1], F_SETFL, O_NONBLOCK))
		return 3;
	if (argc > 1 && !strcmp(argv[1], "async") && fcntl(b[0], F_SETFL, O_ASYNC))
		return 3;
	if (argc > 1 && !strcmp(argv[1], "async0") && fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_ASYNC))
		return 3;
	if (fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK))
		return 3;
	if (packets && (write(c[1], "one", 3) != 3 || write(c[1], "two!", 4) != 4))
		return 3;
	const int fds[] = {0, a[0], a[1], b[0], b[1], c[0], c[1]};
	const int want[] = {O_NONBLOCK, O_NONBLOCK, 0, 0, O_NONBLOCK, 0, O_DIRECT};
	for (int i = 0; i < 10; i++) {
		int bad = -1;
		for (int k = 0; k < 7 && bad < 0; k++)
			if ((fcntl(fds[k], F_GETFL) & STATUS) != want[k])
				bad = k;
		if (bad >= 0)
			printf("step %d FAIL fd %d flags %#o, want %#o\n", i, fds[bad], fcntl(fds[bad], F_GETFL) & STATUS, want[bad]);
		else
			printf("step %d flags ok\n", i);
		fflush(stdout);
		if (bad >= 0)
			return 4;
		usleep(200000);
	}
	if (packets) {
		char one[16] = {0}, two[16] = {0};
		ssize_t n1 = read(c[0], one, sizeof one), n2 = read(c[0], two, sizeof two);
		int ok = n1 == 3 && !memcmp(one, "one", 3) && n2 == 4 && !memcmp(two, "two!", 4);
		printf("packets %s (%zd, %zd)\n", ok ? "kept" : "FAIL", n1, n2);
		return ok ? 0 : 5;
	}
	return 0;
}
