/* Memory marked MADV_DONTFORK (absent in a forked child) and
 * MADV_WIPEONFORK (zeros in a child): a --continue checkpoint, written by a
 * copy-on-write child, must still save their real contents. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (4 << 20)

static uint64_t *region(int advice, uint64_t seed)
{
	uint64_t *p = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || (advice && madvise(p, SIZE, advice)))
		return 0;
	for (size_t i = 0; i < SIZE / 8; i++)
		p[i] = seed ^ (i * 0x9e3779b97f4a7c15ull);
	return p;
}

static int intact(const uint64_t *p, uint64_t seed)
{
	for (size_t i = 0; i < SIZE / 8; i++)
		if (p[i] != (seed ^ (i * 0x9e3779b97f4a7c15ull)))
			return 0;
	return 1;
}

int main(void)
{
	uint64_t *dontfork = region(MADV_DONTFORK, 1), *wipe = region(MADV_WIPEONFORK, 2), *plain = region(0, 3);
	if (!dontfork || !wipe || !plain)
		return 2;
	for (int i = 0; i < 10; i++) {
		printf("step %d: dontfork %s, wipeonfork %s, plain %s\n", i, intact(dontfork, 1) ? "ok" : "LOST",
		       intact(wipe, 2) ? "ok" : "LOST", intact(plain, 3) ? "ok" : "LOST");
		fflush(stdout);
		usleep(150000);
	}
	return 0;
}
