/*
 * Incremental images, resolved by the writer before the layout.
 *
 * The capture marked pages unchanged since the last background copy as
 * PARENT extents (dirty_tracking.c). The image at the image path (a tree
 * member's: its own previous member file, tree_member.c) must be
 * that copy's (its image_id is the one the protection dates from): a
 * failed or skipped write, a restart, another run's image all make it
 * something else, and the image is written full. Each PARENT run is cut
 * along the parent's own extents: where the parent stored the bytes
 * (DATA) the new extent points into the parent, link 0; where the parent
 * itself pointed further back (PARENT, link n) it points where that did,
 * link n + 1; anything else (the parent had no bytes there) is stored
 * again. So an image names every image it reads from directly, and a
 * restart opens each once instead of walking the chain.
 *
 * Each PARENT extent carries the CRC32C of its bytes as this copy holds
 * them: the restart compares it with what the older image holds, so a
 * page tracking missed refuses the restart instead of coming back stale.
 * A chain is CKPT_CHAIN_MAX images at most; the image after that is full
 * (the rule that keeps restarts and kept files bounded).
 *
 * Where the parent held zeros (a HOLE, most often a page of zeros the
 * writer found: zero_pages.c; or LZ4's block of zeros), an unchanged
 * piece whose pages the helper summed as zeros is a HOLE again, in the
 * regions where a HOLE reads as zeros. Written beside the running program
 * (shared_writer.c, memory_live), the writer then never reads the
 * program's memory but to copy a piece the parent holds no bytes for
 * otherwise (a file's pages): through process_vm_readv, each page checked
 * against the helper's sum of it, taken before the stop. A page changed
 * since fails the checkpoint; so does a parent it can no longer read,
 * rather than storing everything from memory that moves on. Copying the
 * zeros too failed a period whenever the program first wrote such a page
 * (a heap or stack page it reached) in the moments after the stop.
 *
 * A compressed parent (--compress) keeps its data in LZ4 blocks of up to
 * CKPT_COMPRESS_BLOCK, packed with no alignment. An extent inside one
 * names the whole block (its offset, stored length, pages and checksum)
 * and the page it starts at: a restart inflates the block and copies
 * that part (c/stub/inflate.c). Pages changed since are stored again
 * (compressed, if this image is), the rest of the block is read from
 * the parent, so an image holds only what was written, whatever the
 * block size.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include "ckpt_lib.h"
#include "extent_rebuild.h"
#include "../crc32c.h"
#include "early_protect.h"
#include "../sys.h"

struct parent_image {
	struct ckpt_header hdr;
	const struct ckpt_extent *extents;
	char *tables;
};

static void store_everything(struct capture *c)
{
	for (uint32_t k = 0; k < c->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_PARENT)
			c->extents[k].kind = CKPT_EXTENT_DATA;
	c->hdr->nlinks = 0;
}

/* The parent's file, open, its header read and checked: it is the copy
 * tracking started from, and the chain may grow by one; or -1. */
static long open_parent(const struct capture *c, struct ckpt_header *h)
{
	const char *path = c->parent_path ? c->parent_path : ckpt_config.image_path;
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	static char page[CKPT_HEADER_SIZE]; /* the writer's own copy of it */
	int rc = sys_pread_full((int)fd, page, CKPT_HEADER_SIZE, 0) < 0 ? -1 : 0;
	__builtin_memcpy(h, page, sizeof *h);
	uint32_t want = h->header_crc;
	((struct ckpt_header *)page)->header_crc = 0;
	if (rc || !str_eq(h->magic, CKPT_MAGIC) || h->version != CKPT_VERSION || h->image_id != c->parent_id ||
	    crc32c_update(0, page, CKPT_HEADER_SIZE) != want || h->nlinks >= CKPT_LINKS_MAX ||
	    h->tables_size > (1ull << 32) || h->extents_off + (uint64_t)h->nextents * sizeof(struct ckpt_extent) > h->tables_size) {
		sys_close((int)fd);
		return -1;
	}
	return fd;
}

int parent_usable(const struct capture *c)
{
	struct ckpt_header h;
	long fd = open_parent(c, &h);
	if (fd >= 0)
		sys_close((int)fd);
	return fd >= 0;
}

/* The image at the image path, if it is the copy tracking started from
 * and its header and tables are intact; 0, or -1 for a full image. */
static int read_parent(const struct capture *c, struct parent_image *p)
{
	long fd = open_parent(c, &p->hdr);
	if (fd < 0)
		return -1;
	const struct ckpt_header *h = &p->hdr;
	long m = sys_mmap(0, h->tables_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0) {
		sys_close((int)fd);
		return -1;
	}
	p->tables = (char *)m;
	int rc = sys_pread_full((int)fd, p->tables, h->tables_size, (long)h->tables_offset) < 0 ? -1 : 0;
	sys_close((int)fd);
	if (rc || crc32c_update(0, p->tables, h->tables_size) != h->tables_crc) {
		sys_munmap(p->tables, h->tables_size);
		return -1;
	}
	p->extents = (const struct ckpt_extent *)(p->tables + h->extents_off);
	return 0;
}

/* Where the parent keeps the bytes of [at, at + len) inside its extent pe
 * (DATA or PARENT): x becomes a PARENT extent reading them, or stays DATA
 * when the parent stored nothing there (a block of zeros). A compressed
 * block is named whole, with where the extent starts in it. */
static void point_into(const struct capture *c, struct ckpt_extent *x, const struct ckpt_extent *pe)
{
	if (pe->kind == CKPT_EXTENT_DATA && pe->stored_len == 0)
		return; /* zeros: stored again as nothing (compressed_stream.c) */
	if (c->memory_live && !early_page_sums(c, x->start, x->len))
		return; /* stays DATA, and its copy fails: no sum to check it by */
	uint64_t into = x->start - pe->start;
	x->kind = CKPT_EXTENT_PARENT;
	x->link = pe->kind == CKPT_EXTENT_DATA ? 0 : pe->link + 1;
	/* Summed while the program ran, else read here: never when memory is
	 * live, whose PARENT runs were all summed (shared_writer.c). */
	if (!early_unchanged_crc(c, x->start, x->len, &x->crc))
		x->crc = crc32c_update(0, (const void *)x->start, x->len);
	if (ckpt_extent_compressed(pe)) { /* its own block, or a part of an older one */
		int part = ckpt_extent_in_block(pe);
		x->data_offset = pe->data_offset, x->stored_len = pe->stored_len;
		x->block_pages = part ? pe->block_pages : (uint16_t)(pe->len / CKPT_PAGE_SIZE);
		x->block_page = (uint16_t)(pe->block_page + into / CKPT_PAGE_SIZE);
		x->block_crc = part ? pe->block_crc : pe->crc;
	} else {
		x->data_offset = pe->data_offset + into, x->stored_len = x->len;
	}
}

struct parent_cut {
	const struct parent_image *p;
	int holes_allowed;   /* the region being cut: region_zeros_may_be_holes */
	uint32_t pi;         /* the first parent extent not yet behind the cut */
	uint64_t copied;     /* bytes of c->bounce used by live copies */
	uint64_t changed_at; /* a live copy that failed: its address, or 1 */
};

/* A piece stored again while memory is live: copied to the bounce area,
 * each page checked against the helper's sum; its source, or 0. */
static uint64_t copy_checked(const struct capture *c, struct parent_cut *pc, uint64_t at, uint64_t len)
{
	const uint32_t *sums = early_page_sums(c, at, len);
	char *to = c->bounce + pc->copied;
	struct { void *base; uint64_t len; } local = {to, len}, remote = {(void *)at, len};
	if (!sums || pc->copied + len > c->bounce_cap ||
	    sys_process_vm_readv((int)sys_getpid(), &local, 1, &remote, 1) != (long)len) {
		pc->changed_at = 1;
		return 0;
	}
	for (uint64_t off = 0; off < len; off += CKPT_PAGE_SIZE)
		if (crc32c_update(0, to + off, CKPT_PAGE_SIZE) != sums[off / CKPT_PAGE_SIZE]) {
			pc->changed_at = at + off;
			return 0;
		}
	pc->copied += len;
	return (uint64_t)to;
}

/* Whether the parent held [pe's part of] a piece as zeros: a HOLE, or a
 * compressed block of zeros stored as nothing. */
static int parent_held_zeros(const struct ckpt_extent *pe)
{
	return pe->kind == CKPT_EXTENT_HOLE || (pe->kind == CKPT_EXTENT_DATA && pe->stored_len == 0);
}

/* Whether the helper summed every page of [at, at + len) as a page of
 * zeros, shortly before the stop (early_protect.c). */
static int summed_as_zeros(const struct capture *c, uint64_t at, uint64_t len)
{
	static char zero_page[CKPT_PAGE_SIZE];
	static uint32_t zero_sum;
	const uint32_t *sums = early_page_sums(c, at, len);
	if (!sums)
		return 0;
	if (!zero_sum)
		zero_sum = crc32c_update(0, zero_page, CKPT_PAGE_SIZE);
	for (uint64_t off = 0; off < len; off += CKPT_PAGE_SIZE)
		if (sums[off / CKPT_PAGE_SIZE] != zero_sum)
			return 0;
	return 1;
}

/* One PARENT run of the capture, cut along the parent's extents from pi. */
static void cut_run(const struct capture *c, struct extent_rebuild *o, struct parent_cut *pc, uint64_t start, uint64_t end)
{
	const struct parent_image *p = pc->p;
	for (uint64_t at = start; at < end && !pc->changed_at;) {
		while (pc->pi < p->hdr.nextents && p->extents[pc->pi].start + p->extents[pc->pi].len <= at)
			pc->pi++;
		const struct ckpt_extent *pe = pc->pi < p->hdr.nextents ? &p->extents[pc->pi] : 0;
		struct ckpt_extent x = {.start = at, .kind = CKPT_EXTENT_DATA};
		if (!pe || pe->start > at) { /* the parent had nothing here */
			uint64_t to = pe && pe->start < end ? pe->start : end;
			x.len = to - at;
		} else {
			uint64_t to = pe->start + pe->len < end ? pe->start + pe->len : end;
			x.len = to - at;
			if (pe->kind == CKPT_EXTENT_DATA || pe->kind == CKPT_EXTENT_PARENT)
				point_into(c, &x, pe);
			/* Zeros then, unchanged since: zeros now, never read again
			 * from memory the program may be writing (a page of a
			 * heap or stack it reached after the stop). */
			if (x.kind != CKPT_EXTENT_PARENT && parent_held_zeros(pe) && pc->holes_allowed &&
			    summed_as_zeros(c, x.start, x.len))
				x = (struct ckpt_extent){.start = x.start, .len = x.len, .kind = CKPT_EXTENT_HOLE};
		}
		uint64_t src = x.kind == CKPT_EXTENT_DATA && c->memory_live ? copy_checked(c, pc, x.start, x.len) : 0;
		rebuild_emit(o, x, src);
		at += x.len;
	}
}

static void cut_region(void *ctx, struct extent_rebuild *o, const struct capture *c, const struct ckpt_region *r)
{
	struct parent_cut *pc = ctx;
	pc->holes_allowed = region_zeros_may_be_holes(r);
	for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
		const struct ckpt_extent *x = &c->extents[k];
		if (x->kind == CKPT_EXTENT_PARENT)
			cut_run(c, o, pc, x->start, x->start + x->len);
		else
			rebuild_emit(o, *x, c->extent_src[k]);
	}
}

/* Links: the parent first, then every image the parent read from. */
static void link_to(struct capture *c, const struct parent_image *p)
{
	struct ckpt_header *h = c->hdr;
	h->links[0] = (struct ckpt_link){.image_id = p->hdr.image_id, .file_size = p->hdr.file_size,
					 .header_crc = p->hdr.header_crc};
	for (uint32_t i = 0; i < p->hdr.nlinks; i++)
		h->links[i + 1] = p->hdr.links[i];
	h->nlinks = p->hdr.nlinks + 1;
}

/* What may not happen while memory is live: reading it all again. */
static int cannot_resolve(struct capture *c, const char *why)
{
	if (!c->memory_live) {
		store_everything(c);
		return 0;
	}
	c->error.len = 0;
	line_str(&c->error, why);
	return -1;
}

int resolve_incremental(struct capture *c)
{
	uint32_t runs = 0;
	for (uint32_t k = 0; k < c->nextents; k++)
		runs += c->extents[k].kind == CKPT_EXTENT_PARENT;
	struct parent_image p;
	if (!runs)
		return 0;
	if (read_parent(c, &p))
		return cannot_resolve(c, "the image this one builds on changed or went away while it was written");
	/* Each cut adds at most one piece per parent extent it crosses. */
	struct extent_rebuild o;
	if (rebuild_begin(c, (uint64_t)c->nextents + 2ull * p.hdr.nextents + runs, &o)) {
		sys_munmap(p.tables, p.hdr.tables_size);
		return cannot_resolve(c, "no memory to resolve the chain of images");
	}
	struct parent_cut pc = {.p = &p};
	rebuild_regions(c, &o, cut_region, &pc);
	link_to(c, &p);
	sys_munmap(p.tables, p.hdr.tables_size);
	if (!pc.changed_at)
		return 0;
	c->error.len = 0;
	if (pc.changed_at == 1)
		return capture_fail(c, "the writer could not copy a page the image needed", 0);
	line_str(&c->error, "a page the image needed changed before the writer could copy it (");
	line_hex(&c->error, pc.changed_at);
	line_str(&c->error, ")");
	return -1;
}
