/* Pushes written pages out to swap (madvise MADV_PAGEOUT) and leaves them
 * there across a checkpoint: fills N MiB (default 8) with a pattern, pages
 * it out, prints "swapped S of P pages" from /proc/self/pagemap (bit 62
 * without bit 63) and "ready", waits until the file GO exists (checkpoint
 * and restart happen meanwhile, the pages untouched), then checks every
 * byte: "after: PASS (P pages intact)" or the first FAIL, exit 1.
 * Prints "SKIP: why" and exits 0 when no page could be swapped out.
 * Usage: swapped-pages GO [MIB] */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define MADV_PAGEOUT_ 21

static uint64_t word(size_t page, size_t i)
{
	return (page + 1) * 0x9e3779b97f4a7c15ull ^ (i * 0xff51afd7ed558ccdull);
}

static size_t count_swapped(const char *base, size_t pages)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e;
	size_t swapped = 0;
	for (size_t p = 0; fd >= 0 && p < pages; p++)
		if (pread(fd, &e, 8, (off_t)(((uintptr_t)base / PAGE + p) * 8)) == 8 && (e >> 62 & 3) == 1)
			swapped++;
	if (fd >= 0)
		close(fd);
	return swapped;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: swapped-pages GO [MIB]\n"), 2;
	setvbuf(stdout, 0, _IONBF, 0);
	size_t pages = (size_t)(argc > 2 ? atoi(argv[2]) : 8) * 256, words = PAGE / 8;
	uint64_t *mem = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return perror("mmap"), 1;
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < words; i++)
			mem[p * words + i] = word(p, i);
	if (madvise(mem, pages * PAGE, MADV_PAGEOUT_))
		return printf("SKIP: madvise(MADV_PAGEOUT): %s\n", strerror(errno)), 0;
	size_t swapped = count_swapped((const char *)mem, pages);
	if (!swapped)
		return printf("SKIP: no page was swapped out (no swap enabled?)\n"), 0;
	printf("swapped %zu of %zu pages\nready\n", swapped, pages);
	while (access(argv[1], F_OK))
		usleep(10000); /* interrupted by the checkpoint: just look again */
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < words; i++)
			if (mem[p * words + i] != word(p, i)) {
				printf("after: FAIL: page %zu word %zu is %016llx, expected %016llx\n", p, i,
				       (unsigned long long)mem[p * words + i], (unsigned long long)word(p, i));
				return 1;
			}
	printf("after: PASS (%zu pages intact)\n", pages);
	return 0;
}
