/*
 * Compressed extents (version 5, --compress): one LZ4 block each, inflated
 * by liblz4's own block decompressor (Debian's liblz4-dev archive, linked
 * as it is; scripts/c-sources.ts). And since version 9, PARENT extents
 * that are part of an older image's block: the block is inflated whole
 * and the part copied out.
 *
 * The stored bytes are checked against the extent's checksum before the
 * decompressor sees any of them, so a corrupt block never reaches it, and
 * LZ4_decompress_safe never writes past the buffer it is given nor reads
 * past the input; it must then give exactly the extent's length.
 *
 * That archive was built with the stack protector: LZ4_decompress_safe
 * reads a canary at %fs:0x28. The stub has no TLS until its very end, so a
 * thread that inflates points %fs at a block of our own first.
 */
#include <asm/prctl.h>
#include <sys/mman.h>
#include "stub.h"
#include "../crc32c.h"
#include "../sys.h"

#ifdef CKPT_HAVE_LZ4
#include <lz4.h>
#endif

/* %fs for inflating threads: only the canary at 0x28 is ever read. */
static uint64_t tls_block[16] __attribute__((aligned(64)));

uint64_t inflate_tls(void)
{
	tls_block[5] = 0x636b70742d6c7a34ull; /* any value, the same at entry and return */
	return (uint64_t)tls_block;
}

void use_inflate_tls(void)
{
	long err = sys_arch_prctl(ARCH_SET_FS, inflate_tls());
	if (err < 0)
		die("cannot set up the decompressor's thread area", err);
}

/* What the decompressor's object also links against; never called by the
 * block decompressor (only by its stream constructors). */
void *calloc(unsigned long n, unsigned long size)
{
	(void)n, (void)size;
	return 0;
}

void free(void *p)
{
	(void)p;
}

__attribute__((noreturn)) void __stack_chk_fail(void)
{
	die("the decompressor's stack was overrun (corrupt image)", 0);
}

__attribute__((noreturn)) static void die_extent(const struct ckpt_extent *e, const char *why)
{
	struct line l = {.len = 0};
	line_str(&l, "memory at ");
	line_hex(&l, e->start);
	line_str(&l, " (");
	line_size(&l, e->len);
	line_str(&l, ckpt_extent_in_block(e) ? ", compressed in an older image of the chain): " : ", compressed): ");
	line_str(&l, why);
	die_line(&l);
}

static char *scratch_buffer(struct inflate_scratch *s)
{
	if (!s->buf) {
		long m = sys_mmap(0, 2 * CKPT_COMPRESS_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m < 0)
			die("cannot map a buffer to inflate memory through", m);
		s->buf = (char *)m;
	}
	return s->buf;
}

void release_inflate_scratch(struct inflate_scratch *s)
{
	if (s->buf)
		sys_munmap(s->buf, 2 * CKPT_COMPRESS_BLOCK);
	*s = (struct inflate_scratch){0};
}

/* `stored_len` bytes at `data_offset` of extent e's file, checked against
 * `crc`, inflated into `to`, which they must fill exactly. */
static void inflate_block(const struct ckpt_extent *e, uint32_t crc, char *stored, void *to, uint64_t len)
{
	read_extent_bytes(e, stored, e->stored_len, 0);
	if (crc32c_update(0, stored, e->stored_len) != crc)
		die_extent(e, "checksum mismatch of the compressed bytes (corrupt image)");
#ifdef CKPT_HAVE_LZ4
	int n = LZ4_decompress_safe(stored, to, (int)e->stored_len, (int)len);
#else
	int n = -1; /* unreachable: validate.c refuses compressed blocks in this build */
	(void)to;
#endif
	if (n < 0 || (uint64_t)n != len)
		die_extent(e, "the compressed block does not inflate to its length (corrupt image)");
}

/* A part of an older image's block. The whole block: inflated straight
 * into place. Else the block is inflated into the second half of the
 * scratch, unless it holds it already (the parts of one block lie side by
 * side, and loaders claim them together, load_batches.c; a whole block
 * between them never takes the scratch), then the part copied out. Either
 * way the part is then checked against its own checksum. */
static void inflate_part(const struct ckpt_extent *e, void *to, struct inflate_scratch *s)
{
	uint64_t block_len = (uint64_t)e->block_pages * CKPT_PAGE_SIZE;
	char *block = scratch_buffer(s) + CKPT_COMPRESS_BLOCK;
	populate_for_writing(to, e->len);
	if (e->len == block_len) {
		inflate_block(e, e->block_crc, s->buf, to, block_len);
	} else {
		if (s->held != 1u + e->link || s->held_offset != e->data_offset) {
			s->held = 0;
			inflate_block(e, e->block_crc, s->buf, block, block_len);
			s->held = 1u + e->link, s->held_offset = e->data_offset;
		}
		__builtin_memcpy(to, block + (uint64_t)e->block_page * CKPT_PAGE_SIZE, e->len);
	}
	if (crc32c_update(0, to, e->len) != e->crc)
		die_extent(e, "checksum mismatch (corrupt image)");
}

void inflate_extent(const struct ckpt_extent *e, void *to, struct inflate_scratch *s)
{
	if (ckpt_extent_in_block(e)) {
		inflate_part(e, to, s);
		return;
	}
	populate_for_writing(to, e->len);
	if (e->stored_len == 0) { /* a block of zeros: nothing stored */
		if (e->crc != 0)
			die_extent(e, "checksum mismatch (corrupt image)");
		__builtin_memset(to, 0, e->len);
	} else {
		inflate_block(e, e->crc, scratch_buffer(s), to, e->len);
	}
}

int extents_inflate(const struct ckpt_header *h, const struct ckpt_extent *e)
{
	if (h->codec)
		return 1;
	for (uint32_t k = 0; k < h->nextents; k++)
		if (ckpt_extent_in_block(&e[k]))
			return 1;
	return 0;
}
