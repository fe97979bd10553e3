/* Counts to N (default 1000), one line every 20 ms, with a running checksum
 * over 1 MiB of heap it keeps rewriting: quick to checkpoint again and again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	uint32_t *mem = calloc(262144, 4), sum = 0;
	if (!mem)
		return 3;
	for (int i = 0; i < n; i++) {
		mem[(i * 7919) % 262144] += (uint32_t)i;
		sum = sum * 31 + mem[(i * 7919) % 262144];
		printf("%d %08x\n", i, sum);
		fflush(stdout);
		usleep(20000);
	}
	return 0;
}
