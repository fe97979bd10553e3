/* early_protect.c: the written pages protected again while the program
 * runs, before an incremental capture stops it. */
#ifndef CKPT_EARLY_PROTECT_H
#define CKPT_EARLY_PROTECT_H

#include <signal.h>
#include <stdint.h>
#include "pagemap_scan.h"

struct capture;

/* The helper's table of runs, and its copy in scratch. */
#define EARLY_TABLE_BYTES (1u << 20) /* 43,690 runs; a larger scan stops there, the rest is stored */
/* The unchanged pages' checksums: runs, then a CRC32C a page (16 GiB of
 * pages); past it the writer reads the pages, as before. */
#define EARLY_SUM_RUNS_BYTES (1u << 20) /* 43,690 runs */
#define EARLY_SUM_RUNS (EARLY_SUM_RUNS_BYTES / 24u)
#define EARLY_SUMS_BYTES (EARLY_SUM_RUNS_BYTES + (16u << 20)) /* page-aligned, as scratch's parts must be */

/* For a background request (3: periodic, whose --keep the helper's own
 * request carries on) that would make an incremental image: starts the
 * helper and returns 1; the handler then
 * returns at once, and the helper's own request takes the checkpoint.
 * 0: take it now, as before. */
int early_protect_start(int request, const siginfo_t *info);

/* The helper's request: the request to take (2 or 3), even when one in
 * between took it already (it may hold another, merged into it); 0 when
 * info is not the helper's. */
int early_protect_request(const siginfo_t *info);

/* At the start of every capture, before the memory map is read: waits for
 * the helper, moves its runs and sums into scratch (c->early; copies them
 * if the move fails) and unmaps the rest of its mapping. */
void early_protect_settle(struct capture *c);

/* From addr, up to end, a stretch that is wholly inside one of the n
 * sorted early runs (*written 1) or wholly outside every one (*written 0);
 * returns its end. Inline: dirty_tracking.c asks, and early_protect.c
 * calls dirty_tracking.c. */
/* The first of n sorted runs that ends after addr (n if none does). */
static inline uint32_t early_run_ending_after(const struct page_region *runs, uint32_t n, uint64_t addr)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (runs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline uint64_t early_written_stretch(const struct page_region *runs, uint32_t n, uint64_t addr, uint64_t end,
					     int *written)
{
	uint32_t lo = early_run_ending_after(runs, n, addr);
	*written = lo < n && runs[lo].start <= addr;
	uint64_t edge = lo == n ? end : *written ? runs[lo].end : runs[lo].start;
	return edge < end ? edge : end;
}

/* In the writer: the CRC32C of the unchanged pages [start, start + len)
 * from the helper's sums, and 1; 0 when it has none for all of them. */
int early_unchanged_crc(const struct capture *c, uint64_t start, uint64_t len, uint32_t *crc);
/* The helper's sums of the pages of [start, start + len), one a page, or
 * 0 when it has none for all of them. */
const uint32_t *early_page_sums(const struct capture *c, uint64_t start, uint64_t len);

/* How many pages the early runs hold, for the writer's line. */
uint64_t early_written_pages(const struct capture *c);

/* dirty_tracking.c, for the above. Whether a background capture now would
 * be incremental (tracking on, ours, dating from an image); and the image
 * the bits date from, forgotten until the next protect. */
int tracking_dates_from_image(void);
uint64_t tracking_suspend(void);

#endif
