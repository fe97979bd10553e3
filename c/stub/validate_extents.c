/*
 * Phase 1 checks of the extent table, region by region (validate.c calls
 * them): the extents tile their region, each kind's fields are in range,
 * and every stored byte they name lies inside the file it is read from.
 */
#include "stub.h"
#include "../range.h"

__attribute__((noreturn)) static void bad(const char *why)
{
	die(why, 0);
}

__attribute__((noreturn)) void refuse_without_lz4(void)
{
	bad("a compressed image, and this ckpt was built without LZ4 (build it where liblz4-dev is installed)");
}

/* Bytes as they are, or a part of a compressed block the older image
 * holds: a block of at most CKPT_COMPRESS_BLOCK that shrank. Older
 * compressed images pack their blocks with no alignment. */
static void check_parent_extent(const struct ckpt_header *h, const struct ckpt_extent *x)
{
	uint64_t block = (uint64_t)x->block_pages * CKPT_PAGE_SIZE;
	if (ckpt_extent_in_block(x) && !CKPT_BUILT_WITH_LZ4)
		refuse_without_lz4();
	if (ckpt_extent_in_block(x) ? block > CKPT_COMPRESS_BLOCK || !x->stored_len || x->stored_len >= block ||
					  (uint64_t)x->block_page * CKPT_PAGE_SIZE + x->len > block
				    : x->stored_len != x->len || x->block_page || x->block_crc)
		bad("extent stored length is inconsistent (corrupt image)");
	if (x->link >= h->nlinks || x->data_offset < CKPT_HEADER_SIZE ||
	    !within(x->data_offset, x->stored_len, h->links[x->link].file_size))
		bad("extent data lies outside the older image it reads from (corrupt image)");
}

void check_extents(const struct ckpt_header *h, const struct ckpt_region *r, const struct ckpt_extent *e,
		   uint32_t expected_first)
{
	if (r->first_extent != expected_first || !within(r->first_extent, r->nextents, h->nextents) || !r->nextents)
		bad("region extents are inconsistent (corrupt image)");
	uint64_t at = r->start;
	for (uint32_t i = r->first_extent; i < r->first_extent + r->nextents; i++) {
		const struct ckpt_extent *x = &e[i];
		if (x->start != at || !x->len || !ckpt_page_aligned(x->len) || x->len > r->end - at)
			bad("extents do not tile their region (corrupt image)");
		if (x->kind < CKPT_EXTENT_DATA || x->kind > CKPT_EXTENT_KIND_MAX ||
		    ((x->link || x->block_pages || x->block_page || x->block_crc) && x->kind != CKPT_EXTENT_PARENT))
			bad("unknown extent kind (corrupt image)"); /* link shares the kind's word */
		switch (x->kind) {
		case CKPT_EXTENT_DATA:
			/* compressed: a block of the header's codec, at most one block long */
			if (x->stored_len > x->len ||
			    (ckpt_extent_compressed(x) && (!h->codec || x->len > CKPT_COMPRESS_BLOCK)))
				bad("extent stored length is inconsistent (corrupt image)");
			if ((!h->codec && !ckpt_page_aligned(x->data_offset)) || x->data_offset < h->data_offset ||
			    !within(x->data_offset, x->stored_len, h->file_size))
				bad("extent data lies outside the image (corrupt image)");
			break;
		case CKPT_EXTENT_PARENT: /* the older image's bytes, as it stored them (ckpt_format.h) */
			check_parent_extent(h, x);
			break;
		case CKPT_EXTENT_FILE:
			if (!mem_kind_is_file(r->kind))
				bad("file extent in a non-file region (corrupt image)");
			break;
		default:
			break; /* HOLE and GUARD have no fields of their own */
		}
		at += x->len;
	}
	if (at != r->end)
		bad("extents do not cover their region (corrupt image)");
}

