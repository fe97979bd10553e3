/* Fills N MiB of heap (default 16) with a pseudo-random pattern, then for
 * each of S steps (default 10) verifies the whole pattern, rewrites a slice,
 * and allocates more, so a restart in the middle must bring every byte back
 * and leave malloc able to grow the break. Prints a checksum per step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 16;
	int steps = argc > 2 ? atoi(argv[2]) : 10;
	size_t words = mib * 131072;
	uint64_t *heap = malloc(words * 8), seed = 88172645463325252ull, check = 0;
	if (!heap)
		return 3;
	for (size_t i = 0; i < words; i++)
		heap[i] = next(&seed);
	for (int step = 0; step < steps; step++) {
		uint64_t s = 88172645463325252ull, sum = 0;
		for (size_t i = 0; i < words; i++) {
			uint64_t want = next(&s);
			if (heap[i] != want + check * (i % 97 == 0)) {
				printf("step %d: heap corrupt at word %zu\n", step, i);
				return 4;
			}
			sum += heap[i];
		}
		check++;
		for (size_t i = 0; i < words; i += 97)
			heap[i]++;
		void *more = malloc(4096 * (size_t)(step + 1)); /* brk must grow */
		if (!more)
			return 5;
		printf("step %d sum %016llx\n", step, (unsigned long long)sum);
		fflush(stdout);
		usleep(200000);
	}
	printf("heap ok\n");
	return 0;
}
