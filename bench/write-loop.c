/* bench/interval-cost.ts's workload: a heap of N MiB (argv[1]), every page
 * written once, then "ready", then passes over the whole heap (a word every
 * 64 bytes, every page written each pass) for S seconds (argv[2]); prints
 * "passes P in NS ns, longest pass NS ns" and exits. A write-heavy program
 * at its worst for checkpoints: every page changes between any two. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t words = (size_t)atol(argc > 1 ? argv[1] : "1024") << 17;
	uint64_t run_ns = (uint64_t)(atof(argc > 2 ? argv[2] : "10") * 1e9);
	uint64_t *heap = malloc(words * 8);
	if (!heap)
		return 2;
	for (size_t i = 0; i < words; i++)
		heap[i] = i;
	printf("ready\n");
	fflush(stdout);
	uint64_t start = monotonic_ns(), last = start, longest = 0, passes = 0, now = start;
	while (now - start < run_ns) {
		for (size_t i = 0; i < words; i += 8)
			heap[i] += passes;
		passes++;
		now = monotonic_ns();
		if (now - last > longest)
			longest = now - last;
		last = now;
	}
	printf("passes %llu in %llu ns, longest pass %llu ns\n", (unsigned long long)passes,
	       (unsigned long long)(now - start), (unsigned long long)longest);
	return 0;
}
