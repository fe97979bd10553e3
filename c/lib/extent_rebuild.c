/*
 * The extent table rebuilt in a mapping of its own, region by region, then
 * copied over the capture's: the pieces of a cut extent are written while
 * the extents after it are still to be read, so the table cannot be cut in
 * place. See extent_rebuild.h.
 */
#include <sys/mman.h>
#include "extent_rebuild.h"
#include "../sys.h"

int rebuild_begin(const struct capture *c, uint64_t most, struct extent_rebuild *o)
{
	*o = (struct extent_rebuild){.bytes = align_up(most * (sizeof(struct ckpt_extent) + 8), 4096),
				     .cap = ckpt_extent_cap(c->hdr->codec)};
	long m = most <= c->max_extents ? sys_mmap(0, o->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : -1;
	if (m < 0)
		return -1;
	o->out = (struct ckpt_extent *)m;
	o->out_src = (uint64_t *)(m + most * sizeof(struct ckpt_extent));
	return 0;
}

void rebuild_emit(struct extent_rebuild *o, struct ckpt_extent x, uint64_t src)
{
	struct ckpt_extent *last = o->n > o->region_first ? &o->out[o->n - 1] : 0;
	if (last && last->kind == x.kind && last->start + last->len == x.start &&
	    (x.kind == CKPT_EXTENT_HOLE ||
	     (x.kind == CKPT_EXTENT_DATA && !src && !o->out_src[o->n - 1] && last->len + x.len <= o->cap))) {
		last->len += x.len;
		return;
	}
	o->out[o->n] = x;
	o->out_src[o->n++] = src;
}

void rebuild_regions(struct capture *c, struct extent_rebuild *o,
		     void (*each_region)(void *ctx, struct extent_rebuild *o, const struct capture *c,
					 const struct ckpt_region *r),
		     void *ctx)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		struct ckpt_region *r = &c->regions[i];
		uint32_t first = o->region_first = o->n;
		each_region(ctx, o, c, r);
		r->first_extent = first;
		r->nextents = o->n - first;
	}
	__builtin_memcpy(c->extents, o->out, o->n * sizeof(struct ckpt_extent));
	__builtin_memcpy(c->extent_src, o->out_src, o->n * sizeof(uint64_t));
	c->nextents = o->n;
	sys_munmap(o->out, o->bytes);
}
