/* Writes a line to stdout and then one to stderr every step. Run as
 * `two-streams > log 2>&1`, both descriptors share one open file and one
 * offset: after a restart they must still share it, or the two streams
 * write over each other's lines. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 20; i++) {
		printf("out %d\n", i);
		fflush(stdout);
		fprintf(stderr, "err %d\n", i);
		usleep(100000);
	}
	return 0;
}
