/* The benchmark's workload: N MiB of heap (argv[1]), of which T MiB
 * (argv[2], default all) are dirtied with a verifiable pattern, then a loop that prints "alive" after every sleep, so a restart
 * shows its first output as soon as the program runs again (the sleep the
 * checkpoint interrupted returns at once). Exits 3 if the pattern is wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
	size_t touched = argc > 2 ? (size_t)atol(argv[2]) : mib;
	size_t words = touched << 17;
	uint64_t *heap = malloc(mib << 20);
	if (!heap)
		return 2;
	for (size_t i = 0; i < words; i++)
		heap[i] = i * 0x9e3779b97f4a7c15ull;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct timespec ts = {30, 0};
		nanosleep(&ts, 0);
		for (size_t i = 0; i < words; i += 4096)
			if (heap[i] != i * 0x9e3779b97f4a7c15ull)
				return 3;
		printf("alive\n");
		fflush(stdout);
	}
}
