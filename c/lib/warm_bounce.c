/*
 * The warm bounce area: a writer beside the program (shared_writer.c)
 * reads the pages it stores from copies made in the pause, and in this VM
 * the first store to a fresh page costs several microseconds (a fill by
 * the hypervisor): 18-55 ms for the 17 MiB of an incremental image, more
 * than the rest of the pause. So the copies go to one area, kept mapped,
 * whose pages early_protect.c's helper stores to while the program still
 * runs, as many as it found written; a page the pause copies into is then
 * already there.
 *
 * What that costs: the area stays resident between checkpoints, as large
 * as the most the helper found written (with a quarter more and 1 MiB),
 * at most WARM_BOUNCE_BYTES. Giving the pages back after each write
 * (MADV_DONTNEED) was tried: the pause went from 16-17 ms to 27-30, the
 * helper's stores notwithstanding (docs/performance.md, round 5).
 *
 * MADV_DONTFORK keeps it out of the program's children; the capture
 * leaves it out of the image by address, as it does scratch; a restart
 * does not bring it back.
 */
#include <sys/mman.h>
#include "warm_bounce.h"
#include "../sys.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static char *area;
static int owner; /* a forked child has the pointer but not the mapping */
static int unwanted; /* the last incremental pause could not use it */

char *warm_bounce(void)
{
	int pid = (int)sys_getpid();
	if (area && owner == pid)
		return area;
	long m = sys_mmap(0, WARM_BOUNCE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m < 0)
		return 0;
	sys_madvise((void *)m, WARM_BOUNCE_BYTES, MADV_DONTFORK);
	area = (char *)m, owner = pid;
	return area;
}

char *warm_bounce_if_wanted(void)
{
	return unwanted ? 0 : warm_bounce();
}

/* A store to each page, not only MADV_POPULATE_WRITE: here the kernel
 * maps a page without writing it, and the fill comes at the first store
 * (populating 21 MiB took 3.6 ms, the first copy into it 18 ms after
 * that, the next 0.8 ms). */
void warm_bounce_touch(uint64_t from, uint64_t to)
{
	volatile char *a = warm_bounce_if_wanted();
	if (!a)
		return;
	from = (from + 4095) & ~4095ull; /* never into a copy before it */
	to = to < WARM_BOUNCE_BYTES ? to : WARM_BOUNCE_BYTES;
	if (from >= to)
		return;
	sys_madvise((void *)(a + from), to - from, MADV_POPULATE_WRITE);
	for (uint64_t at = from; at < to; at += 4096)
		a[at] = 0;
}

/* A tree's root or a program that is not dumpable has its incremental
 * images written by a fork: nothing is copied here, and what the helper
 * warmed would stay resident for nothing. Given back once, as it turns. */
void warm_bounce_wanted(int wanted)
{
	if (!wanted && !unwanted && area && owner == (int)sys_getpid())
		sys_madvise(area, WARM_BOUNCE_BYTES, MADV_DONTNEED);
	unwanted = !wanted;
}

void warm_bounce_range(uint64_t *lo, uint64_t *hi)
{
	int own = area && owner == (int)sys_getpid();
	*lo = own ? (uint64_t)area : 0;
	*hi = own ? (uint64_t)area + WARM_BOUNCE_BYTES : 0;
}

void warm_bounce_forget(void)
{
	area = 0, owner = 0;
}
