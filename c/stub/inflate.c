/*
 * Compressed extents (version 5, --compress): one LZ4 block each, inflated
 * by liblz4's own block decompressor (Debian's liblz4-dev archive, linked
 * as it is; scripts/c-sources.ts).
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
	line_str(&l, ", compressed): ");
	line_str(&l, why);
	die_line(&l);
}

void inflate_extent(const struct ckpt_extent *e, void *to, char *stored)
{
	if (e->stored_len == 0) { /* a block of zeros: nothing stored */
		if (e->crc != 0)
			die_extent(e, "checksum mismatch (corrupt image)");
		__builtin_memset(to, 0, e->len);
		return;
	}
	read_memory_from_image(stored, e->stored_len, e->data_offset);
	if (crc32c_update(0, stored, e->stored_len) != e->crc)
		die_extent(e, "checksum mismatch of the compressed bytes (corrupt image)");
#ifdef CKPT_HAVE_LZ4
	int n = LZ4_decompress_safe(stored, to, (int)e->stored_len, (int)e->len);
#else
	int n = -1; /* unreachable: validate.c refuses compressed images in this build */
#endif
	if (n < 0 || (uint64_t)n != e->len)
		die_extent(e, "the compressed block does not inflate to its length (corrupt image)");
}
