/*
 * ckpt image format, the extent record and compression: part of
 * c/ckpt_format.h (which includes it; include that, never this), split out
 * so the header stays readable. Same rules: src/image/format.ts mirrors it
 * field by field, and a change bumps CKPT_VERSION there.
 */
#ifndef CKPT_FORMAT_EXTENTS_H
#define CKPT_FORMAT_EXTENTS_H

#include <stdint.h>

struct ckpt_extent {
	uint64_t start, len;
	/* The kind fits 16 bits, so PARENT's link shares its word: for every
	 * other kind link is 0 and the word reads as the 32-bit kind it was. */
	uint16_t kind;               /* enum ckpt_extent_kind */
	uint16_t link;               /* version 5, PARENT: index in the header's links */
	uint32_t crc;                /* DATA: CRC32C of the bytes stored (compressed ones if so); PARENT: of the bytes */
	uint64_t data_offset;        /* DATA: where in the image; PARENT: in links[link] */
	/* version 5, compression: DATA bytes in the image. stored_len == len:
	 * the memory itself; stored_len < len (only with a codec): one block of
	 * the header's codec that inflates to exactly len bytes, len at most
	 * CKPT_COMPRESS_BLOCK. Its crc is of the stored bytes, checked before
	 * the decompressor sees one of them. PARENT: as the older image stored
	 * them: stored_len == len and block_pages 0 for bytes as they are. */
	uint64_t stored_len;
	/* version 9, a PARENT extent inside a compressed block of an older
	 * image (a chain of --compress images, c/lib/incremental.c): the block
	 * is stored_len bytes at data_offset, which inflate to block_pages
	 * pages; this extent is len bytes of them from page block_page on.
	 * block_crc is the CRC32C of the stored bytes, checked before the
	 * decompressor sees them; crc is of this extent's inflated bytes. All
	 * three are 0 for every other extent. */
	uint16_t block_pages;
	uint16_t block_page;
	uint32_t block_crc;
};

/* Compression (version 5): the header's codec, and the most memory one
 * compressed extent holds (capture cuts data into extents this long, so
 * each loads on its own core and inflates into a buffer of this size). */
enum ckpt_codec { CKPT_CODEC_NONE = 0, CKPT_CODEC_LZ4 = 1, CKPT_CODEC_MAX = CKPT_CODEC_LZ4 };
#define CKPT_COMPRESS_BLOCK (1u << 20)
/* The longest DATA or PARENT extent capture cuts uncompressed (a writer's
 * rule): a lazy first touch waits for its whole extent (docs/lazy-restart.md). */
#define CKPT_DATA_EXTENT_MAX (2u << 20)
/* The longest a writer cuts them in an image of that codec. */
static inline uint64_t ckpt_extent_cap(uint32_t codec)
{
	return codec ? CKPT_COMPRESS_BLOCK : CKPT_DATA_EXTENT_MAX;
}
/* Whether extent e is part of an older image's compressed block (version 9). */
static inline int ckpt_extent_in_block(const struct ckpt_extent *e) { return e->block_pages != 0; }
/* Whether extent e is stored compressed: a block of its own, or part of an
 * older image's (a codec image may keep a block that did not shrink as it
 * was, and a PARENT extent may read such a block as plain bytes). */
static inline int ckpt_extent_compressed(const struct ckpt_extent *e)
{
	return e->stored_len < e->len || ckpt_extent_in_block(e);
}

#endif
