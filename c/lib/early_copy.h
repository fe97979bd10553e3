/* early_copy.c: the pages found written copied before the stop, for an
 * incremental image written beside the program. */
#ifndef CKPT_EARLY_COPY_H
#define CKPT_EARLY_COPY_H

#include <stdint.h>
#include "ckpt_lib.h"
#include "pagemap_scan.h"

/* Scratch's table of the early runs' pages that may hold other bytes than
 * their early copy at the stop; a capture with more copies them all in
 * the pause, as before. */
#define EARLY_STALE_BYTES (256u << 10)
#define EARLY_STALE_MAX ((uint32_t)(EARLY_STALE_BYTES / sizeof(struct page_region)))

/* In early_protect.c's helper, once its runs are protected again: copies
 * them into the warm area. Each run's categories word becomes 1 + the
 * page its copy starts at there, or 0 for none. */
void early_copy_runs(struct page_region *runs, uint32_t n);

/* In the scan at the stop (unchanged_stretch): [start, end), pages of an
 * early run whose early copy cannot be trusted to be what they hold now.
 * Inline: dirty_tracking.c notes them, and early_copy.c asks it which
 * regions' bits hold. */
static inline void early_copy_stale(struct capture *c, uint64_t start, uint64_t end)
{
	if (c->nstale > EARLY_STALE_MAX)
		return;
	struct page_region *last = c->nstale ? &c->stale[c->nstale - 1] : 0;
	if (last && last->end == start)
		last->end = end;
	else if (c->nstale++ < EARLY_STALE_MAX) /* one past it: overflowed */
		c->stale[c->nstale - 1] = (struct page_region){start, end, 0};
}

/* In the pause, for a writer beside the program: points the DATA extents
 * that early copies hold at them and copies the stale pages into their
 * places. Returns the bytes of the warm area the early copies take: the
 * pause's own copies go after them. */
uint64_t early_copy_use(struct capture *c, char *warm);

/* dirty_tracking.c: whether pages of r still protected at the stop are
 * unchanged since they were protected, until the writer's copy is made:
 * private memory the capture itself never writes. */
int tracked_bits_hold(const struct capture *c, const struct ckpt_region *r);

#endif
