/*
 * Phase 2, memory: small extents stored as they are (DATA here, PARENT in
 * an older image of the chain) loaded a batch at a time, with few reads.
 *
 * The last image of a chain cuts memory into many small extents: pages
 * unchanged since an older image alternate with pages a newer one wrote
 * (63,500 extents for a 1 GiB heap that dirties 16 MiB of scattered pages
 * in each of ten periods). One pread each made its restart 1.3-1.4 times
 * as slow as one from a full image (docs/performance.md). Here the extents
 * of a batch that come from one file are read with one preadv per stretch
 * of that file, in file order, each extent's bytes straight into place; a
 * hole between two of them (pages a newer image holds) of up to HOLE_MAX
 * is read into a scratch buffer rather than ending the stretch. Every
 * extent's checksum is then checked, on bytes just read and still in
 * cache, before the loader takes another batch: a corrupt byte anywhere
 * in a stretch ends the restore before the program runs, as before.
 */
#include <sys/mman.h>
#include <sys/uio.h>
#include "stub.h"
#include "../crc32c.h"
#include "../sys.h"

#define BATCH_BYTES (4u << 20) /* of memory to load; the checksums then read it from cache */
#define BATCH_EXTENTS 512
/* The most read past into scratch; a larger hole ends the stretch. Holes
 * of a page or two (the usual ones) cost less read past than as reads of
 * their own (docs/performance.md); from a cold file, readahead (128 KiB
 * by default) brings a hole this small in anyway. */
#define HOLE_MAX (64u << 10)
#define STRETCH_IOVS 1024      /* the kernel's UIO_MAXIOV */

/* Whether the extent can be part of a batch: nothing to load, or bytes
 * stored as they are, written straight into place (not through
 * /proc/self/mem, uncharged.c), and no longer than a batch. */
static int joins_batch(const struct ckpt_extent *e)
{
	if (!ckpt_extent_stored(e->kind))
		return 1;
	return !ckpt_extent_compressed(e) && e->len <= BATCH_BYTES && !extent_is_uncharged(e);
}

/* A part of an older image's compressed block goes with every extent up
 * to the block's end in memory (the other parts, and pages written since
 * between them), so one loader inflates the block once. */
static uint32_t block_claim_end(uint32_t first)
{
	const struct ckpt_extent *e = &restart.extents[first];
	uint64_t block_end = e->start + ((uint64_t)e->block_pages - e->block_page) * CKPT_PAGE_SIZE;
	uint32_t end = first + 1;
	while (end < restart.hdr->nextents && end - first < BATCH_EXTENTS && restart.extents[end].start < block_end)
		end++;
	return end;
}

static uint32_t batch_end(uint32_t first)
{
	const uint32_t n = restart.hdr->nextents;
	if (!joins_batch(&restart.extents[first]))
		return ckpt_extent_in_block(&restart.extents[first]) ? block_claim_end(first) : first + 1;
	uint64_t bytes = 0;
	uint32_t end = first;
	while (end < n && end - first < BATCH_EXTENTS && joins_batch(&restart.extents[end])) {
		const struct ckpt_extent *e = &restart.extents[end];
		if (ckpt_extent_stored(e->kind)) {
			if (bytes + e->len > BATCH_BYTES)
				break;
			bytes += e->len;
		}
		end++;
	}
	return end;
}

int claim_extents(uint32_t *first, uint32_t *end)
{
	uint32_t k = __atomic_load_n(&restart.next_extent, __ATOMIC_RELAXED);
	for (;;) {
		if (k >= restart.hdr->nextents)
			return 0;
		uint32_t e = batch_end(k);
		/* On failure k is what another loader left: look again from there. */
		if (__atomic_compare_exchange_n(&restart.next_extent, &k, e, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			*first = k, *end = e;
			return 1;
		}
	}
}

int is_batch(uint32_t first)
{
	return joins_batch(&restart.extents[first]);
}

/* 0 for the image itself, 1 + link for an older one: a bit each in a mask. */
static uint32_t source_of(const struct ckpt_extent *e)
{
	return e->kind == CKPT_EXTENT_PARENT ? 1u + e->link : 0;
}

struct stretch {
	const struct ckpt_extent *first; /* says which file, for the messages */
	uint64_t from, to;               /* its bytes in that file */
	uint64_t offsets;                /* every extent's data_offset or'ed, for loader_fd */
	int n;                           /* iovecs used */
};

/* All of a stretch, however many reads the kernel makes of it (the iovecs
 * are scratch: a short read moves them on), past the page cache where it
 * may (direct_read.c): extents and holes are then whole pages. */
static void read_stretch(const struct stretch *s, struct iovec *iov)
{
	int n = s->n;
	uint64_t at = s->from;
	int fd = loader_fd(s->first, s->offsets), again;
	while (n > 0) {
		long got = SYS5(__NR_preadv, fd, iov, n, at, 0);
		if (got < 0 && (again = retry_through_cache(s->first, fd, got)) >= 0) {
			fd = again;
			continue;
		}
		if (got <= 0)
			die_unreadable(s->first, got < 0 ? got : -5 /* EIO: the file ends first */);
		at += (uint64_t)got;
		for (; n > 0 && (uint64_t)got >= iov->iov_len; iov++, n--)
			got -= (long)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + got;
			iov->iov_len -= (uint64_t)got;
		}
	}
}

static void read_source(uint32_t first, uint32_t end, uint32_t source, struct batch_scratch *scratch)
{
	struct stretch s = {.n = 0};
	for (uint32_t k = first; k < end; k++) {
		const struct ckpt_extent *e = &restart.extents[k];
		if (!ckpt_extent_stored(e->kind) || source_of(e) != source)
			continue;
		if (s.n && (e->data_offset < s.to || e->data_offset - s.to > HOLE_MAX || s.n + 2 > STRETCH_IOVS)) {
			read_stretch(&s, scratch->iov);
			s.n = 0;
		}
		if (!s.n)
			s.first = e, s.from = s.to = e->data_offset, s.offsets = 0;
		s.offsets |= e->data_offset;
		if (e->data_offset > s.to)
			scratch->iov[s.n++] = (struct iovec){scratch->hole, e->data_offset - s.to};
		scratch->iov[s.n++] = (struct iovec){(void *)e->start, e->len};
		s.to = e->data_offset + e->len;
	}
	if (s.n)
		read_stretch(&s, scratch->iov);
}

/* The batch's memory made in one call per stretch of stored extents side
 * by side (a chain's small pieces are mostly side by side), never over a
 * HOLE between them, which stays unmade. */
static void populate_batch(uint32_t first, uint32_t end)
{
	uint64_t from = 0, to = 0; /* the stretch so far */
	for (uint32_t k = first; k < end; k++) {
		const struct ckpt_extent *e = &restart.extents[k];
		if (!ckpt_extent_stored(e->kind))
			continue;
		if (e->start != to) { /* after a HOLE, or the first */
			populate_for_writing((void *)from, to - from);
			from = e->start;
		}
		to = e->start + e->len;
	}
	populate_for_writing((void *)from, to - from);
}

void load_batch(uint32_t first, uint32_t end, struct batch_scratch *scratch)
{
	if (!scratch->iov) {
		long m = sys_mmap(0, STRETCH_IOVS * sizeof(struct iovec) + HOLE_MAX, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m < 0)
			die("cannot map a buffer to load memory through", m);
		scratch->iov = (struct iovec *)m;
		scratch->hole = (char *)m + STRETCH_IOVS * sizeof(struct iovec);
	}
	uint32_t sources = 0;
	for (uint32_t k = first; k < end; k++)
		if (ckpt_extent_stored(restart.extents[k].kind))
			sources |= 1u << source_of(&restart.extents[k]);
	populate_batch(first, end);
	for (uint32_t source = 0; sources; source++, sources >>= 1)
		if (sources & 1)
			read_source(first, end, source, scratch);
	for (uint32_t k = first; k < end; k++) {
		const struct ckpt_extent *e = &restart.extents[k];
		if (ckpt_extent_stored(e->kind) && crc32c_update(0, (const void *)e->start, e->len) != e->crc)
			die("memory contents checksum mismatch (corrupt image)", 0);
	}
}

void release_batch_scratch(struct batch_scratch *scratch)
{
	if (scratch->iov)
		sys_munmap(scratch->iov, STRETCH_IOVS * sizeof(struct iovec) + HOLE_MAX);
}
