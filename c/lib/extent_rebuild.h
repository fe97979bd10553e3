/* Rebuilding the capture's extent table in the writer, before the layout:
 * zero_pages.c cuts DATA extents around pages of zeros, incremental.c cuts
 * PARENT runs along an older image's extents. Each replaces some extents
 * of each region by pieces; the pieces merge by one rule, here. */
#ifndef CKPT_EXTENT_REBUILD_H
#define CKPT_EXTENT_REBUILD_H

#include "ckpt_lib.h"

/* Whether a page of zeros in r may come back as a HOLE, a fresh page that
 * reads as zeros: private anonymous memory read at its own address (a
 * file mapping's HOLE would show the file). */
static inline int region_zeros_may_be_holes(const struct ckpt_region *r)
{
	return (r->kind == CKPT_REGION_ANON || r->kind == CKPT_REGION_STACK) && !(r->flags & CKPT_REGION_UNREAD);
}

struct extent_rebuild {
	struct ckpt_extent *out;
	uint64_t *out_src;     /* per piece: where to write it from (extent_src) */
	uint32_t n;
	uint32_t region_first; /* pieces never merge across a region's start */
	uint64_t bytes;
	uint64_t cap;          /* the longest DATA piece merging makes (ckpt_extent_cap) */
};

/* Room for `most` pieces: 0, or -1 when there is none (the table stays). */
int rebuild_begin(const struct capture *c, uint64_t most, struct extent_rebuild *o);

/* Appends a piece. Side by side, HOLEs merge, and so do DATA pieces stored
 * from their own addresses, up to the capture's cap (ckpt_extent_cap). */
void rebuild_emit(struct extent_rebuild *o, struct ckpt_extent x, uint64_t src);

/* Calls each_region for every region, which emits that region's pieces;
 * then the new table replaces the capture's, and the room is freed. */
void rebuild_regions(struct capture *c, struct extent_rebuild *o,
		     void (*each_region)(void *ctx, struct extent_rebuild *o, const struct capture *c,
					 const struct ckpt_region *r),
		     void *ctx);

#endif
