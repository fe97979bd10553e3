/*
 * The pages found written copied before the stop, for an incremental image
 * written beside the program (shared_writer.c).
 *
 * Why: that writer reads the pages it stores from copies, made while the
 * program is stopped: 16-17 MiB of scattered pages for a 1 GiB heap that
 * writes 16 MiB a period, 3.3 ms of a 6.5-8 ms pause here, with the other
 * core busy walking smaps (docs/performance.md). Most of those pages are
 * not written again between early_protect.c's helper and the stop.
 *
 * How: the helper protects the written pages again and notes their runs
 * (the early runs); it then copies each run into the warm area, after
 * the protect. A write to such a page after the protect clears its uffd-wp
 * bit, the kernel's own writes included, so at the stop the page still
 * has its bit exactly when its early copy is its bytes, the same evidence
 * by which a PARENT page is unchanged since the last image. The scan at
 * the stop notes every page of an early run without the bit, or near a
 * thread's TLS or rseq area, as stale (unchanged_stretch); the pause
 * copies only those, each into its place in the early copy, and points
 * the DATA extents wholly inside a copied run at it.
 *
 * Where the bits are not trusted, nothing changes: only anonymous regions
 * the capture never writes (tracked_bits_hold) use early copies, and an
 * extent that is not wholly inside one copied run, a run the helper could
 * not copy (unmapped meanwhile), or a capture whose stale pages overflow
 * their table is copied in the pause as before. Copied through
 * process_vm_readv: the program may unmap a run while the helper copies
 * it, and a fault in the helper would end the program.
 */
#include <sys/uio.h>
#include "ckpt_lib.h"
#include "early_copy.h"
#include "early_protect.h"
#include "warm_bounce.h"
#include "../sys.h"

#define BATCH 256 /* iovecs a call, on the helper's stack of 64 KiB */

/* The runs i.. that fit from `at` in the warm area, as iovecs. */
static uint32_t gather(const struct page_region *runs, uint32_t i, uint32_t n, uint64_t at, char *warm,
		       struct iovec *local, struct iovec *remote)
{
	uint32_t k = 0;
	for (; i + k < n && k < BATCH; k++) {
		uint64_t len = runs[i + k].end - runs[i + k].start;
		if (at + len > WARM_BOUNCE_BYTES)
			break;
		local[k] = (struct iovec){warm + at, len};
		remote[k] = (struct iovec){(void *)runs[i + k].start, len};
		at += len;
	}
	return k;
}

void early_copy_runs(struct page_region *runs, uint32_t n)
{
	uint64_t found = 0;
	for (uint32_t i = 0; i < n; i++) {
		runs[i].categories = 0;
		found += runs[i].end - runs[i].start;
	}
	char *warm = warm_bounce_if_wanted();
	if (!warm || found > WARM_BOUNCE_BYTES) /* more than a pause may copy: the image will be forked */
		return;
	struct iovec local[BATCH], remote[BATCH];
	uint64_t used = 0;
	for (uint32_t i = 0; i < n;) {
		uint32_t k = gather(runs, i, n, used, warm, local, remote);
		if (!k)
			break;
		long got = sys_process_vm_readv((int)sys_getpid(), local, k, remote, k);
		uint64_t off = 0;
		uint32_t j = 0;
		for (; j < k && got > 0 && off + local[j].iov_len <= (uint64_t)got; j++) {
			runs[i + j].categories = 1 + (used + off) / CKPT_PAGE_SIZE;
			off += local[j].iov_len;
		}
		used += off;
		i += j < k ? j + 1 : k; /* the run it stopped in went away: copied in the pause */
	}
	/* The pause's own copies go after these (warm_bounce.c says why now). */
	warm_bounce_touch(used, used + used / 4 + (1u << 20));
}

/* The copied early run holding [start, start + len) whole, or 0. */
static const struct page_region *copied_run_holding(const struct capture *c, uint64_t start, uint64_t len)
{
	uint32_t i = early_run_ending_after(c->early, c->nearly, start);
	if (i == c->nearly || c->early[i].start > start || c->early[i].end < start + len || !c->early[i].categories)
		return 0;
	return &c->early[i];
}

static char *place_of(const struct page_region *run, char *warm, uint64_t addr)
{
	return warm + (run->categories - 1) * CKPT_PAGE_SIZE + (addr - run->start);
}

/* Stale pages in [start, end) of region memory, copied over their early copies. */
static void refresh(const struct capture *c, char *warm, uint64_t start, uint64_t end)
{
	for (uint64_t at = start; at < end;) {
		uint32_t i = early_run_ending_after(c->early, c->nearly, at);
		if (i == c->nearly || c->early[i].start >= end)
			return;
		const struct page_region *run = &c->early[i];
		uint64_t from = run->start > at ? run->start : at, to = run->end < end ? run->end : end;
		if (run->categories)
			__builtin_memcpy(place_of(run, warm, from), (const void *)from, to - from);
		at = to;
	}
}

/* Region r's stale pages (the table is in address order, a span may run
 * on into the next region), from *next on. */
static void refresh_region(const struct capture *c, const struct ckpt_region *r, char *warm, uint32_t *next)
{
	uint32_t s = *next;
	while (s < c->nstale && c->stale[s].end <= r->start)
		s++;
	*next = s;
	for (; s < c->nstale && c->stale[s].start < r->end; s++) {
		uint64_t from = c->stale[s].start > r->start ? c->stale[s].start : r->start;
		refresh(c, warm, from, c->stale[s].end < r->end ? c->stale[s].end : r->end);
	}
}

uint64_t early_copy_use(struct capture *c, char *warm)
{
	uint64_t used = 0;
	for (uint32_t i = 0; i < c->nearly; i++)
		if (c->early[i].categories) {
			uint64_t end = (c->early[i].categories - 1) * CKPT_PAGE_SIZE + (c->early[i].end - c->early[i].start);
			used = end > used ? end : used;
		}
	if (!used || c->nstale > EARLY_STALE_MAX)
		return 0;
	uint32_t next = 0;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (r->kind != CKPT_REGION_ANON || !tracked_bits_hold(c, r))
			continue;
		refresh_region(c, r, warm, &next);
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
			const struct ckpt_extent *x = &c->extents[k];
			const struct page_region *run;
			if (x->kind == CKPT_EXTENT_DATA && !c->extent_src[k] && (run = copied_run_holding(c, x->start, x->len)))
				c->extent_src[k] = (uint64_t)place_of(run, warm, x->start);
		}
	}
	return align_up(used, CKPT_PAGE_SIZE);
}
