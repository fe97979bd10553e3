/* Recurses deep (default 40000 frames, a few MiB of stack), sleeps at the
 * bottom while printing, then recurses deeper still (the restored stack must
 * keep growing) and unwinds, checking every frame's value on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int depth;

static long down(int n, long acc)
{
	volatile char pad[64];
	pad[0] = (char)n;
	if (n == 0) {
		for (int i = 0; i < 8; i++) {
			printf("at the bottom, step %d\n", i);
			fflush(stdout);
			usleep(200000);
		}
		return acc;
	}
	long r = down(n - 1, acc + n);
	if (pad[0] != (char)n) {
		printf("frame %d corrupt\n", n);
		exit(4);
	}
	return r;
}

int main(int argc, char **argv)
{
	depth = argc > 1 ? atoi(argv[1]) : 40000;
	long n = depth;
	long got = down(depth, 0);
	printf("sum %ld %s\n", got, got == n * (n + 1) / 2 ? "ok" : "WRONG");
	long deeper = down(depth * 2, 0) - 2 * n * (2 * n + 1) / 2;
	printf("deeper %s\n", deeper == 0 ? "ok" : "WRONG");
	return 0;
}
