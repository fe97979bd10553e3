/* bench/interval-cost.ts's workload: a heap of N MiB (argv[1]), every page
 * written once, then "ready", then passes over the heap (a word every 64
 * bytes of each page it writes) for S seconds (argv[2]); prints "passes P
 * in NS ns, longest pass NS ns" and exits. With no argv[3], every page is
 * written each pass: a write-heavy program at its worst for checkpoints,
 * every page changed between any two. With argv[3] = H MiB, each pass
 * writes the same H MiB of pages scattered over the heap, chosen by a hash
 * and copied once on write before "ready", as the first checkpoint's fork
 * would (settle_hot_pages): the rest never changes, as in issue #16's
 * case. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* In this VM, hot pages that a copy-on-write gave new frames ran these
 * passes 1.35 times as fast as the first-touched ones (1,550 passes/s
 * against 1,150; freeing and touching them again gave 1,200): the frames
 * it takes, while the old ones are still held, are others. Under
 * --interval the first checkpoint's fork makes that copy, so without it
 * the runs with checkpoints were faster than the run alone. Every mode
 * starts from the copy instead: a child holds the pages while they are
 * written once (docs/performance.md). */
static void settle_hot_pages(uint64_t *heap, const size_t *written, size_t n)
{
	int hold[2];
	if (pipe(hold))
		return;
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(hold[1]);
		_exit(read(hold[0], &c, 1) < 0);
	}
	close(hold[0]);
	for (size_t k = 0; k < n; k++)
		((volatile uint64_t *)heap)[written[k]] = heap[written[k]];
	close(hold[1]);
	if (child > 0)
		waitpid(child, 0, 0);
}

int main(int argc, char **argv)
{
	size_t words = (size_t)atol(argc > 1 ? argv[1] : "1024") << 17;
	uint64_t run_ns = (uint64_t)(atof(argc > 2 ? argv[2] : "10") * 1e9);
	size_t pages = words / 512, hot = argc > 3 ? (size_t)atol(argv[3]) * 256 : pages, n = 0;
	size_t *written = malloc((hot < pages ? hot : pages) * sizeof *written);
	if (!written)
		return 2;
	for (size_t p = 0; p < pages && n < hot; p++) /* one page in pages/hot, by a hash of its index */
		if (hot >= pages || (p * 0x9e3779b97f4a7c15ull >> 20) % (pages / hot) == 0)
			written[n++] = p * 512;
	uint64_t *heap = malloc(words * 8);
	if (!heap)
		return 2;
	for (size_t i = 0; i < words; i++)
		heap[i] = i;
	if (hot < pages)
		settle_hot_pages(heap, written, n);
	printf("ready\n");
	fflush(stdout);
	uint64_t start = monotonic_ns(), last = start, longest = 0, passes = 0, now = start;
	while (now - start < run_ns) {
		for (size_t k = 0; k < n; k++)
			for (size_t i = written[k]; i < written[k] + 512; i += 8)
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
