/*
 * Which pages changed since the last image, for incremental images
 * (incremental.c). This kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY
 * is off), so the program's memory is registered with a userfaultfd of our
 * own in write-protect mode with UFFD_FEATURE_WP_ASYNC: a write to a
 * protected page, the kernel's own (read() into it) included, is resolved
 * by the kernel itself, which clears the page's uffd-wp bit; no thread ever
 * waits on us. pagemap shows that bit (PM_UFFD_WP, bit 57) in the scan
 * capture_regions.c makes anyway, so a page is unchanged exactly when it is
 * present or swapped with the bit still set (in a private file mapping:
 * present; see unchanged_stretch) and the helper that protected it again
 * before the stop did not note it (early_protect.c). A page nobody protected never
 * has it: a region mapped, moved (mremap drops the registration and the
 * bits) or faulted in again since (MADV_DONTNEED, then a read maps the
 * zero page unprotected) is written whole. Verified on 6.18, unprivileged
 * (vm.unprivileged_userfaultfd is 0, so UFFD_USER_MODE_ONLY): fork keeps
 * the parent's bits; a second userfaultfd cannot register a range that is
 * registered (EBUSY).
 *
 * Turned on by the first periodic checkpoint (--interval), or by the second
 * background checkpoint of a run, and protected again at each background
 * checkpoint after it: most pages by a helper while the program runs
 * (early_protect.c), the rest while every thread is stopped
 * and before the writer's copy is made, so
 * "unchanged" means unchanged since that copy. Regions written while the
 * capture itself runs (every thread's stack, TLS and rseq area, libckpt's
 * own statics) are never taken as unchanged: a page of theirs written
 * between the scan and the copy would otherwise be missed. Were anything
 * else missed, the PARENT extent's checksum, taken from the new copy (or,
 * for most pages, summed by early_protect.c's helper shortly before the
 * stop), would not match the older image's bytes and the restart would
 * refuse: never a silent difference, but for a miss in the moments
 * between the helper's sum and the stop.
 *
 * The descriptor, and a pagemap one beside it, sit high and out of the
 * image (tracking_fds.c). A program that closes either just loses
 * tracking: the next image is full. A forked child
 * (a tree's member) inherits the descriptor, but a userfaultfd acts on the
 * memory of the process that made it: the child's first background
 * capture closes it and the child's tracking starts on a new one.
 *
 * A one-off --continue checkpoint does not turn it on: protecting every
 * page is pause (about 20 ms for 1 GiB here), and every first write to a
 * page after it a fault (tens of microseconds in this VM) for as long as
 * the program runs, a price only a next checkpoint repays. A periodic one
 * says a next one is coming; a second one says the user takes them again.
 *
 * --compress tracks as any other: a later image's PARENT extents then lie
 * inside the older image's compressed blocks (incremental.c).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include "ckpt_lib.h"
#include "early_copy.h"
#include "early_protect.h"
#include "tracking_fds.h"
#include "../sys.h"
#include "page_kind.h"
#include "pagemap_scan.h"

/* include/uapi/linux/userfaultfd.h and fs/proc/task_mmu.c (Linux 6.7+);
 * Debian 12's headers predate UFFD_FEATURE_WP_ASYNC. */
#define UFFD_USER_MODE_ONLY 1
#define UFFD_API 0xaa
#define UFFD_FEATURE_WP_ASYNC (1u << 15)
#define UFFDIO_API 0xc018aa3f          /* _IOWR(0xAA, 0x3F, struct uffdio_api) */
#define UFFDIO_REGISTER 0xc020aa00     /* _IOWR(0xAA, 0x00, struct uffdio_register) */
#define UFFDIO_WRITEPROTECT 0xc018aa06 /* _IOWR(0xAA, 0x06, struct uffdio_writeprotect) */
#define UFFDIO_REGISTER_MODE_WP 2
#define UFFDIO_WRITEPROTECT_MODE_WP 1
#define NR_USERFAULTFD 323

struct uffdio_api { uint64_t api, features, ioctls; };
struct uffdio_range { uint64_t start, len; };
struct uffdio_register { struct uffdio_range range; uint64_t mode, ioctls; };
struct uffdio_writeprotect { struct uffdio_range range; uint64_t mode; };

static int tracking_owner;         /* the pid that made it: a forked child inherits both */
static uint64_t protected_since;   /* image_id of the capture the bits date from */
static const char *unavailable;    /* why tracking cannot be had here, once known */

/* A restart brings none of it back: the descriptor is not in the image. */
void tracking_forget(void)
{
	tracking_fds_forget();
	protected_since = 0;
}

/* At the start of a background capture: whether pagemap's uffd-wp bits
 * say what changed since the image named protected_since. */
void tracking_begin(struct capture *c)
{
	c->incremental = 0;
	if (tracking_uffd() >= 0 && tracking_owner != (int)sys_getpid()) {
		/* A child of the process that made it (a tree's member): that
		 * userfaultfd acts on the parent's memory, and protecting through
		 * it would hide the parent's writes from its next image. Ours to
		 * close, if the number still holds one; the child starts afresh. */
		tracking_fds_drop();
		tracking_forget();
	}
	c->hdr->tracking = unavailable ? CKPT_TRACKING_UNAVAILABLE : CKPT_TRACKING_WRITE_PROTECT;
	if (!tracking_fds_still_ours())
		return;
	c->incremental = 1;
	c->parent_id = c->early_taken ? c->early_parent : protected_since;
}

int tracking_dates_from_image(void)
{
	return protected_since && tracking_owner == (int)sys_getpid() && tracking_fds_still_ours();
}

uint64_t tracking_suspend(void)
{
	uint64_t since = protected_since;
	protected_since = 0;
	return since;
}

/* Each thread's TCB and rseq area, which the kernel rewrites (rseq's cpu
 * id) whenever a stopped thread moves to another CPU: a few pages, often
 * inside a big anonymous region the heap merged with, so they are taken
 * out by page, not by region. */
#define TLS_SLACK (2 * CKPT_PAGE_SIZE)
static int near_thread_state(const struct capture *c, uint64_t addr)
{
	for (uint32_t t = 0; t < c->nthreads; t++) {
		const struct ckpt_thread *th = &c->threads[t];
		if ((addr + TLS_SLACK > th->fs_base && addr < th->fs_base + TLS_SLACK) ||
		    (th->rseq_addr && addr + TLS_SLACK > th->rseq_addr && addr < th->rseq_addr + TLS_SLACK))
			return 1;
	}
	return 0;
}

/* The first page-aligned address past addr, up to end, where
 * near_thread_state() may change: an edge of a window around fs_base or
 * rseq_addr, each TLS_SLACK on either side. */
static uint64_t next_thread_state_edge(const struct capture *c, uint64_t addr, uint64_t end)
{
	uint64_t next = end;
	for (uint32_t t = 0; t < c->nthreads; t++) {
		const struct ckpt_thread *th = &c->threads[t];
		const uint64_t centres[2] = {th->fs_base, th->rseq_addr};
		for (int k = 0; k < 2; k++) {
			if (!centres[k])
				continue;
			uint64_t lo = centres[k] > TLS_SLACK ? align_up(centres[k] - TLS_SLACK + 1, CKPT_PAGE_SIZE) : 0;
			uint64_t hi = align_up(centres[k] + TLS_SLACK, CKPT_PAGE_SIZE);
			if (lo > addr && lo < next)
				next = lo;
			if (hi > addr && hi < next)
				next = hi;
		}
	}
	return next;
}

/* In a private file mapping, dropping a protected copy (MADV_DONTNEED)
 * leaves a uffd-wp marker that pagemap shows as a protected swapped page,
 * though the page now reads as the file's: only a present copy there is
 * taken as unchanged (a swapped one is stored again, which is exact).
 * Pages of one pagemap word are alike but near a thread's TLS or rseq
 * area, so a run is answered in stretches, not a call per page: for a
 * 1 GiB heap, a few calls instead of 262,144. A page of an early run
 * that is not as protected as an unchanged one would be is stale: its
 * early copy is not trusted (early_copy.c). */
uint64_t unchanged_stretch(struct capture *c, uint64_t pagemap_entry, uint64_t addr, uint64_t end,
			   int private_file_page, int *unchanged)
{
	*unchanged = 0;
	if (!c->incremental)
		return end;
	int written_early;
	end = early_written_stretch(c->early, c->nearly, addr, end, &written_early);
	int protected_now = (pagemap_entry & PM_UFFD_WP) && !(private_file_page && !(pagemap_entry & PM_PRESENT));
	int near = near_thread_state(c, addr);
	end = next_thread_state_edge(c, addr, end);
	if (written_early && (!protected_now || near))
		early_copy_stale(c, addr, end);
	*unchanged = protected_now && !written_early && !near;
	return end;
}

static int holds(const struct ckpt_region *r, uint64_t addr)
{
	return addr >= r->start && addr < r->end;
}

/* Memory the capture itself may write between the scan and the copy. */
static int written_by_capture(const struct capture *c, const struct ckpt_region *r)
{
	for (uint32_t t = 0; t < c->nthreads; t++) {
		const struct ckpt_thread *th = &c->threads[t];
		if (holds(r, th->resume.rsp - 1) || holds(r, th->user_rsp - 1) || holds(r, th->altstack_sp))
			return 1;
	}
	return holds(r, (uint64_t)&ckpt_config) || holds(r, (uint64_t)&ckpt_sync) ||
	       holds(r, (uint64_t)&ckpt_restart_info) || holds(r, (uint64_t)&protected_since) || holds(r, (uint64_t)tracking_fds_statics());
}

int tracked_bits_hold(const struct capture *c, const struct ckpt_region *r)
{
	if (r->kind != CKPT_REGION_ANON && r->kind != CKPT_REGION_FILE_PRIVATE)
		return 0;
	return !(r->flags & CKPT_REGION_UNREAD) && !written_by_capture(c, r);
}

/* Private memory read directly by the writer: what can be tracked. */
static int trackable(const struct capture *c, const struct ckpt_region *r)
{
	return tracked_bits_hold(c, r) && !(r->vm_flags & (CKPT_VM_DONTFORK | CKPT_VM_WIPEONFORK));
}

/* After capture_vmflags: pages of regions that cannot be trusted as
 * unchanged go back to being stored. */
void untrack_unstable_regions(struct capture *c)
{
	for (uint32_t i = 0; c->incremental && i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (trackable(c, r))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
			if (c->extents[k].kind == CKPT_EXTENT_PARENT)
				c->extents[k].kind = CKPT_EXTENT_DATA;
	}
}

static int open_tracking(void)
{
	long fd = SYS1(NR_USERFAULTFD, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		unavailable = "userfaultfd is not available";
		return -1;
	}
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC};
	if (sys_ioctl((int)fd, UFFDIO_API, &api) < 0) {
		sys_close((int)fd);
		unavailable = "this kernel has no asynchronous userfaultfd write-protect (Linux 6.7+)";
		return -1;
	}
	if (tracking_fds_take((int)fd, &unavailable) < 0)
		return -1;
	tracking_owner = (int)sys_getpid();
	return 0;
}

/* Which pages a protecting scan matches: only pages that are there.
 * Protecting a page that is not leaves a uffd-wp marker where no page is,
 * which pagemap shows as a swapped page not written since: the capture
 * would take a page never touched for unchanged data, and its first copy
 * would read it in (a 4 MiB mapping touched for 300 KiB became all
 * resident in this VM, which has no shared zero page). In anonymous
 * memory, every page written since and present or swapped. Asking for
 * written pages alone takes the kernel's fast path, which counts a page
 * never touched as written and leaves that marker (Linux 6.18); the slow
 * path costs 0.3-0.4 ms more per GiB walked here. In a private file
 * mapping, only the program's own copies (present, not the file's page):
 * a page still the file's would be stored as data at each checkpoint
 * (test/e2e/incremental.test.ts, the private file mapping). */
static void match_for(const struct ckpt_region *r, struct pm_scan_arg *scan)
{
	scan->category_mask = PAGE_IS_WRITTEN;
	scan->return_mask = PAGE_IS_WRITTEN;
	if (r->kind == CKPT_REGION_FILE_PRIVATE) {
		scan->category_mask |= PAGE_IS_PRESENT | PAGE_IS_FILE;
		scan->category_inverted = PAGE_IS_FILE;
	} else {
		scan->category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	}
}

/* Where a protecting scan reports what it matched: only its walk matters,
 * but without a vector the kernel takes a fast path that protects every
 * page, holes too (a uffd-wp marker each, as above). The capture's text
 * buffer is free once captured: its 16 MiB hold far more runs than any
 * scan finds, so one call walks a region. A vector of 256 runs took 16
 * calls for 4096 scattered pages here, 26 ms against 10, each call paying
 * again for its TLB flush. */
struct found_runs {
	struct page_region *vec;
	uint64_t len;
};

/* Protects again the pages of a registered region that match_for()
 * matches, instead of walking all of it: a 1 GiB heap that wrote 16 MiB
 * costs 4096 pages, not 262144. 0, or -1 when the region is not
 * registered with us (EPERM). */
static int protect_written(int pagemap, const struct ckpt_region *r, struct found_runs found)
{
	for (uint64_t at = r->start; at < r->end;) {
		struct pm_scan_arg scan = {
			.size = sizeof scan, .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			.start = at, .end = r->end, .vec = (uint64_t)found.vec, .vec_len = found.len,
		};
		match_for(r, &scan);
		long n = sys_ioctl(pagemap, PAGEMAP_SCAN, &scan);
		if (n < 0)
			return at == r->start ? -1 : 0; /* partway: what is left is written next time */
		if (scan.walk_end <= at)
			return 0;
		at = scan.walk_end;
	}
	return 0;
}

/* A region registered now (new, moved, or the first time): protected page
 * by page through match_for(). UFFDIO_WRITEPROTECT would protect anonymous
 * memory whole, but with UFFD_FEATURE_WP_ASYNC it leaves a marker on every
 * page never touched, as the fast path does (Linux 6.18, though we do not
 * ask for UFFD_FEATURE_WP_UNPOPULATED); it serves only where pagemap
 * cannot be had. A private file mapping without pagemap stays
 * unprotected and is written whole each time. */
static void register_and_protect(int pagemap, const struct ckpt_region *r, struct found_runs found)
{
	struct uffdio_register reg = {.range = {r->start, r->end - r->start}, .mode = UFFDIO_REGISTER_MODE_WP};
	if (sys_ioctl(tracking_uffd(), UFFDIO_REGISTER, &reg) < 0)
		return;
	if (pagemap >= 0) {
		protect_written(pagemap, r, found);
		return;
	}
	if (r->kind == CKPT_REGION_FILE_PRIVATE)
		return;
	struct uffdio_writeprotect wp = {.range = {r->start, r->end - r->start}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
	sys_ioctl(tracking_uffd(), UFFDIO_WRITEPROTECT, &wp);
}

/* After the capture, every thread still stopped, before the writer's copy:
 * from now on a write clears the page's bit. A region that cannot be
 * registered (the program's own userfaultfd has it) stays unprotected and
 * so is written whole every time. */
void tracking_protect(struct capture *c)
{
	static uint32_t background_captures; /* restored with the program: counts across restarts */
	if (tracking_uffd() < 0 && !c->periodic && background_captures++ == 0) { /* see the top of this file */
		c->hdr->tracking = CKPT_TRACKING_NONE;
		return;
	}
	if (unavailable || (tracking_uffd() < 0 && open_tracking() < 0)) {
		c->hdr->tracking = CKPT_TRACKING_UNAVAILABLE;
		return;
	}
	int pagemap = tracking_pagemap();
	struct found_runs found = {(struct page_region *)c->text, c->text_cap / sizeof(struct page_region)};
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (trackable(c, r) && (pagemap < 0 || protect_written((int)pagemap, r, found) < 0))
			register_and_protect((int)pagemap, r, found);
	}
	protected_since = c->hdr->image_id;
}

/* Why an image taken with tracking asked for is full ("" when it is not). */
const char *tracking_unavailable_reason(void)
{
	return unavailable ? unavailable : "";
}
