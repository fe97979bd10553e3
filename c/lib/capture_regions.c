/*
 * The memory map, as regions (one per line of /proc/self/maps) split into
 * extents by how each page must come back:
 *   DATA  bytes the program wrote: anonymous pages that are present or
 *         swapped, and private file pages that were copied on write;
 *   HOLE  anonymous pages never touched: fresh zero pages at restart (the
 *         writer makes pages of zeros HOLEs too: zero_pages.c);
 *   FILE  pages still identical to their file: mapped again from it;
 *   GUARD guard pages (MADV_GUARD_INSTALL): never read, installed again;
 *   PARENT data pages not written since the last background copy
 *         (dirty_tracking.c), for the writer to find in older images.
 * /proc/self/pagemap tells them apart per page (page_kind.c); its flags are
 * readable without privileges even where frame numbers are hidden. Every
 * region is scanned, even one stored or mapped whole, since any of them may
 * hold guard pages and touching one would fault.
 *
 * The scan runs while every thread is stopped, so its cost is pause. Where
 * the kernel has PAGEMAP_SCAN with guard pages (Linux 6.15+), it returns
 * runs of pages alike instead of a word per page: for 1 GiB of resident
 * pages, 1.5 ms against 15 ms of reading pagemap here (docs/performance.md).
 * Older kernels refuse the guard bit, and the per-page reads stay.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include "ckpt_lib.h"
#include "../crc32c.h"
#include "../maps.h"
#include "../sys.h"
#include "../kinds/mem_kinds.h"
#include "page_kind.h"
#include "pagemap_scan.h"
#include "warm_bounce.h"

#define PAGEMAP_CHUNK 65536 /* entries per read: 256 MiB of address space */
/* What page_kind() and unchanged_stretch() read. "File" only where it
 * decides (a private file mapping): finding it costs the kernel a look at
 * each page's frame, five times the rest of the walk. */
#define RUN_CATEGORIES (PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_WRITTEN | PAGE_IS_GUARD)

struct region_scan {
	struct capture *c;
	uint64_t own_inode;       /* libckpt.so's own file */
	uint32_t own_major, own_minor;
	long pagemap_fd;
	uint64_t *pm;             /* PAGEMAP_CHUNK entries, or the runs' buffer */
	int word_by_word;         /* the kernel has no PAGEMAP_SCAN we can use */
};

static int add_extent(struct capture *c, uint64_t start, uint64_t end, uint32_t kind)
{
	struct ckpt_region *r = &c->regions[c->nregions];
	if (r->nextents) {
		struct ckpt_extent *last = &c->extents[c->nextents - 1];
		if (last->kind == kind && last->start + last->len == start &&
		    ((kind != CKPT_EXTENT_DATA && kind != CKPT_EXTENT_PARENT) ||
		     last->len + (end - start) <= ckpt_extent_cap(c->hdr->codec))) {
			last->len += end - start;
			return 0;
		}
	}
	if (c->nextents >= c->max_extents)
		return capture_fail(c, "memory is too fragmented for the extent table", 0);
	c->extents[c->nextents++] = (struct ckpt_extent){.start = start, .len = end - start, .kind = kind};
	r->nextents++;
	return 0;
}

static uint64_t extent_cap(const struct capture *c, uint32_t kind)
{
	if (kind != CKPT_EXTENT_DATA && kind != CKPT_EXTENT_PARENT)
		return ~0ull;
	return ckpt_extent_cap(c->hdr->codec);
}

/* The same extents as adding the run page by page: the last one filled
 * up to the cap, then whole ones. */
static int add_run(struct capture *c, uint64_t start, uint64_t end, uint32_t kind)
{
	uint64_t cap = extent_cap(c, kind);
	while (start < end) {
		uint64_t room = cap;
		const struct ckpt_extent *last = c->regions[c->nregions].nextents ? &c->extents[c->nextents - 1] : 0;
		if (last && last->kind == kind && last->start + last->len == start && last->len < cap)
			room = cap - last->len;
		uint64_t piece = end - start < room ? end - start : room;
		if (add_extent(c, start, start + piece, kind))
			return -1;
		start += piece;
	}
	return 0;
}

/* Pages alike by their pagemap word. Data pages unchanged since the last
 * background copy become PARENT, resolved by the writer (incremental.c). */
static int add_pages(struct region_scan *s, uint64_t start, uint64_t end, uint64_t word, enum page_source source)
{
	uint32_t kind = page_kind(word, source);
	if (kind != CKPT_EXTENT_DATA)
		return add_run(s->c, start, end, kind);
	for (uint64_t at = start; at < end;) {
		int unchanged;
		uint64_t to = unchanged_stretch(s->c, word, at, end, source == PAGES_FILE_PRIVATE, &unchanged);
		if (add_run(s->c, at, to, unchanged ? CKPT_EXTENT_PARENT : kind))
			return -1;
		at = to;
	}
	return 0;
}

/* Per-page kinds from pagemap. */
static int scan_pages(struct region_scan *s, struct ckpt_region *r, uint64_t from, enum page_source source)
{
	for (uint64_t at = from; at < r->end;) {
		uint64_t pages = (r->end - at) / CKPT_PAGE_SIZE;
		if (pages > PAGEMAP_CHUNK)
			pages = PAGEMAP_CHUNK;
		long n = sys_pread((int)s->pagemap_fd, s->pm, pages * 8, (long)(at / CKPT_PAGE_SIZE * 8));
		if (n != (long)(pages * 8))
			return capture_fail(s->c, "cannot read /proc/self/pagemap", n < 0 ? n : 0);
		for (uint64_t i = 0; i < pages; i++, at += CKPT_PAGE_SIZE)
			if (add_pages(s, at, at + CKPT_PAGE_SIZE, s->pm[i], source))
				return -1;
	}
	return 0;
}

/* Runs of pages from PAGEMAP_SCAN. A kernel without it (ENOTTY) or
 * without the guard bit (EINVAL) sends this and every later region to the
 * per-page reads, as does any other failure; a page the scan skips (a
 * VM_PFNMAP region) sends the rest of this region. Either way every page
 * is classified once, from the first one the runs did not cover. */
static int scan_runs(struct region_scan *s, struct ckpt_region *r, enum page_source source)
{
	struct page_region *run = (struct page_region *)s->pm;
	uint64_t at = r->start;
	while (!s->word_by_word && at < r->end) {
		struct pm_scan_arg scan = {
			.size = sizeof scan, .start = at, .end = r->end, .vec = (uint64_t)run,
			.vec_len = PAGEMAP_CHUNK * 8 / sizeof *run,
			.return_mask = RUN_CATEGORIES | (source == PAGES_FILE_PRIVATE ? PAGE_IS_FILE : 0),
		};
		long n = sys_ioctl((int)s->pagemap_fd, PAGEMAP_SCAN, &scan);
		if (n < 0)
			s->word_by_word = 1;
		for (long i = 0; i < n && run[i].start == at; i++) {
			if (add_pages(s, run[i].start, run[i].end, pagemap_word_of(run[i].categories), source))
				return -1;
			at = run[i].end;
		}
		if (n <= 0 || at != scan.walk_end)
			break;
	}
	return at < r->end ? scan_pages(s, r, at, source) : 0;
}

/* Each kind says what its pages are, once per region (c/kinds/mem_*.c). */
static int split_extents(struct region_scan *s, struct ckpt_region *r)
{
	r->first_extent = s->c->nextents;
	enum page_source source;
	switch (r->kind) {
	case CKPT_REGION_FILE_PRIVATE:
	case CKPT_REGION_FILE_SHARED:
		source = mem_file_page_source(r);
		break;
	case CKPT_REGION_SYSV_SHM:
		source = PAGES_ALL_DATA; /* the segment's bytes: no file to take them from */
		break;
	case CKPT_REGION_ANON:
	case CKPT_REGION_STACK:
	case CKPT_REGION_SHARED_ANON:
	default: /* classify() sets no other */
		source = mem_anon_page_source(r);
		break;
	}
	return scan_runs(s, r, source);
}

/* This library's own pages are stored in full, like a deleted file's: a
 * restart must not depend on the extracted copy in the user's cache, which
 * may be cleaned or replaced by another version of ckpt. */
static int is_own_library(const struct region_scan *s, const struct maps_entry *e)
{
	return e->inode == s->own_inode && e->dev_major == s->own_major && e->dev_minor == s->own_minor;
}

static void find_own_library(struct region_scan *s, const char *text, long len)
{
	const char *cur = text, *end = text + len;
	uint64_t here = (uint64_t)&find_own_library;
	struct maps_entry e;
	int k;
	while ((k = maps_next(&cur, end, &e)) != 0)
		if (k > 0 && here >= e.start && here < e.end) {
			s->own_inode = e.inode, s->own_major = e.dev_major, s->own_minor = e.dev_minor;
			return;
		}
}

/* Every region starts anonymous; one whose file can be mapped again is a
 * file region. Private mappings of files that were deleted or replaced
 * keep their pages as data in an anonymous region; shared ones must be
 * /dev/zero's, which become shared anonymous memory again. A kernel
 * object's memory (an io_uring's rings) is refused. */
static int classify(struct region_scan *s, const struct maps_entry *e, struct ckpt_region *r)
{
	struct capture *c = s->c;
	char path[CKPT_PATH_MAX];
	int is_file = e->path_len > 0 && e->path[0] == '/' && e->path_len < CKPT_PATH_MAX;
	mem_anon_classify(e, r);
	if (!is_file)
		return mem_anon_refuse_kernel_object(c, e);
	for (int i = 0; i < e->path_len; i++)
		path[i] = e->path[i];
	path[e->path_len] = 0;
	if (e->shared && str_starts(path, "/SYSV") && mem_sysv_classify(c, e, r))
		return -1;
	int mapped_again = r->kind != CKPT_REGION_SYSV_SHM && !e->deleted && !is_own_library(s, e) && mem_file_classify(e, path, r);
	if (!mapped_again && e->shared && r->kind != CKPT_REGION_SYSV_SHM && mem_anon_refuse_lost_sharing(c, e, path))
		return -1;
	r->path_str = capture_string(c, path, (size_t)e->path_len);
	return 0;
}

static int record_special(struct capture *c, const struct maps_entry *e)
{
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		if (maps_is(e, ckpt_special_names[k])) {
			c->hdr->special_start[k] = e->start;
			c->hdr->special_end[k] = e->end;
			if (k == CKPT_SPECIAL_VDSO)
				c->hdr->vdso_crc = crc32c_update(0, (const void *)e->start, e->end - e->start);
			return 1;
		}
	return maps_is(e, "[vsyscall]");
}

static int add_piece(struct region_scan *s, const struct maps_entry *e)
{
	struct capture *c = s->c;
	if (c->nregions >= c->max_regions)
		return capture_fail(c, "too many memory regions", 0);
	struct ckpt_region *r = &c->regions[c->nregions];
	*r = (struct ckpt_region){.start = e->start, .end = e->end, .prot = (uint32_t)e->prot};
	if (!(e->prot & PROT_READ))
		r->flags |= CKPT_REGION_UNREAD;
	if (classify(s, e, r) || split_extents(s, r))
		return -1;
	c->nregions++;
	return 0;
}

/* ckpt's own mappings are left out: scratch, and the warm bounce area
 * (warm_bounce.c). Each is anonymous memory like the program's, so the
 * kernel may have merged it with a neighbour into one line of maps: keep
 * what lies on either side of it. */
static void own_mapping(const struct capture *c, int which, uint64_t *lo, uint64_t *hi)
{
	if (which == 0)
		*lo = (uint64_t)c->scratch, *hi = *lo + c->scratch_len;
	else
		warm_bounce_range(lo, hi);
}

static int add_outside(struct region_scan *s, const struct maps_entry *e, int which)
{
	if (which == 2)
		return add_piece(s, e);
	uint64_t lo, hi;
	own_mapping(s->c, which, &lo, &hi);
	if (e->end <= lo || e->start >= hi)
		return add_outside(s, e, which + 1);
	struct maps_entry below = *e, above = *e;
	below.end = lo;
	above.start = hi;
	above.offset += hi - e->start;
	if (below.start < below.end && add_outside(s, &below, which + 1))
		return -1;
	return above.start < above.end ? add_outside(s, &above, which + 1) : 0;
}

static int add_region(struct region_scan *s, const struct maps_entry *e)
{
	if (record_special(s->c, e))
		return 0;
	if (s->c->tree && e->start == (uint64_t)s->c->tree)
		return 0; /* a tree's control area (tree_control.h): ckpt's, not the program's */
	return add_outside(s, e, 0);
}

int capture_regions(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/maps");
	if (len <= 0)
		return capture_fail(c, "cannot read /proc/self/maps", len);
	uint64_t pm_at = ((uint64_t)len + 4096) & ~4095ull;
	if (pm_at + PAGEMAP_CHUNK * 8 > c->text_cap)
		return capture_fail(c, "the memory map is too large", 0);
	struct region_scan s = {.c = c, .pm = (uint64_t *)(c->text + pm_at)};
	s.pagemap_fd = sys_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (s.pagemap_fd < 0)
		return capture_fail(c, "cannot open /proc/self/pagemap", s.pagemap_fd);
	find_own_library(&s, c->text, len);
	const char *cur = c->text, *end = c->text + len;
	struct maps_entry e;
	int k, rc = 0;
	while (!rc && (k = maps_next(&cur, end, &e)) != 0)
		rc = k < 0 ? capture_fail(c, "cannot parse /proc/self/maps", 0) : add_region(&s, &e);
	sys_close((int)s.pagemap_fd);
	if (!rc && !c->tree) /* a tree's root counts every member's views (tree_shared_memory.c) */
		rc = mem_sysv_check_attachments(c);
	return rc;
}
