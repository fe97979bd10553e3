/*
 * Pages of zeros are stored as HOLEs, not as data. Anonymous memory read
 * but never written (a calloc'd array summed or hashed, numpy.zeros read)
 * or cleared with memset is present like any written page, so the capture
 * calls it DATA: a 64 MiB bytearray Python hashed once made a 64 MiB image
 * of zeros. A HOLE comes back as an untouched page, which reads as zeros
 * until written: the same bytes.
 *
 * Told by content, a page at a time, stopping at its first nonzero cache
 * line: PAGEMAP_SCAN's PAGE_IS_PFNZERO would name pages mapping the
 * kernel's shared zero page without reading them, but a kernel may have no
 * zero page (this machine's is booted with pvm_no_zero_page: a read fault
 * allocates a zeroed page), and memset's zeros are real pages anyway. A
 * page of data costs one cache line here; the writer reads it all next.
 * This runs where the image is written, before its layout: in a background
 * writer over its own copy, costing the running program nothing; in a
 * stopping checkpoint over the stopped program.
 *
 * Only private anonymous regions read at their own addresses: the pages
 * of MADV_DONTFORK or WIPEONFORK regions were copied aside before the fork
 * (extent_src), and shared or file memory keeps its own pages.
 */
#include <sys/mman.h>
#include "all_zero.h"
#include "ckpt_lib.h"
#include "extent_rebuild.h"
#include "../sys.h"

#define RUNS_MAX 65536 /* 1 MiB of runs; past that, the rest keeps its zeros as data */

struct zero_run { uint64_t start, end; };
struct zero_runs {
	struct zero_run *run;
	uint32_t n;
};

static int eligible(const struct capture *c, const struct ckpt_region *r)
{
	if (!region_zeros_may_be_holes(r))
		return 0;
	for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_DATA && !c->extent_src[k])
			return 1;
	return 0;
}

/* Appends the runs of zero pages in the region's DATA extents. */
static void find_runs(const struct capture *c, const struct ckpt_region *r, struct zero_runs *z)
{
	for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
		const struct ckpt_extent *x = &c->extents[k];
		if (x->kind != CKPT_EXTENT_DATA || c->extent_src[k])
			continue;
		for (uint64_t at = x->start; at < x->start + x->len; at += CKPT_PAGE_SIZE) {
			if (!all_zero((const void *)at, CKPT_PAGE_SIZE))
				continue;
			if (z->n && z->run[z->n - 1].end == at)
				z->run[z->n - 1].end += CKPT_PAGE_SIZE;
			else if (z->n < RUNS_MAX)
				z->run[z->n++] = (struct zero_run){at, at + CKPT_PAGE_SIZE};
			else
				return;
		}
	}
}

/* One DATA extent cut along the zero runs from *ri on. */
static void cut_data(struct extent_rebuild *o, const struct zero_runs *z, uint32_t *ri, const struct ckpt_extent *x)
{
	uint64_t end = x->start + x->len;
	for (uint64_t at = x->start; at < end;) {
		while (*ri < z->n && z->run[*ri].end <= at)
			(*ri)++;
		const struct zero_run *zr = *ri < z->n ? &z->run[*ri] : 0;
		struct ckpt_extent piece = *x;
		piece.start = at;
		if (zr && zr->start <= at) {
			piece = (struct ckpt_extent){.start = at, .kind = CKPT_EXTENT_HOLE};
			piece.len = (zr->end < end ? zr->end : end) - at;
		} else {
			piece.len = (zr && zr->start < end ? zr->start : end) - at;
		}
		rebuild_emit(o, piece, 0);
		at += piece.len;
	}
}

struct zero_cut {
	const struct zero_runs *z;
	uint32_t ri; /* the first run not yet behind the cut */
};

static void cut_region(void *ctx, struct extent_rebuild *o, const struct capture *c, const struct ckpt_region *r)
{
	struct zero_cut *zc = ctx;
	int cut = eligible(c, r);
	for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
		const struct ckpt_extent *x = &c->extents[k];
		if (cut && x->kind == CKPT_EXTENT_DATA && !c->extent_src[k])
			cut_data(o, zc->z, &zc->ri, x);
		else
			rebuild_emit(o, *x, c->extent_src[k]);
	}
}

void store_zero_pages_as_holes(struct capture *c)
{
	if (c->hdr->codec)
		return; /* a compressed block of zeros is stored as nothing, and LZ4 makes a page of them a few bytes */
	uint64_t runs_bytes = align_up(RUNS_MAX * sizeof(struct zero_run), 4096);
	long m = sys_mmap(0, runs_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return;
	struct zero_runs z = {.run = (struct zero_run *)m};
	for (uint32_t i = 0; i < c->nregions && z.n < RUNS_MAX; i++)
		if (eligible(c, &c->regions[i]))
			find_runs(c, &c->regions[i], &z);
	/* Each run splits at most one extent into three pieces. */
	struct extent_rebuild o;
	struct zero_cut zc = {.z = &z};
	if (z.n && rebuild_begin(c, (uint64_t)c->nextents + 2ull * z.n, &o) == 0)
		rebuild_regions(c, &o, cut_region, &zc);
	sys_munmap((void *)m, runs_bytes);
}
