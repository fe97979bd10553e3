/*
 * The copies a writer reads instead of the program's memory: every DATA
 * extent of an image written beside the program (shared_writer.c), and
 * for a forked writer those of MADV_DONTFORK and WIPEONFORK regions,
 * which its copy of the memory does not hold as they are.
 *
 * First each extent gets its place in the bounce area, in order; then the
 * bytes are copied, while the program is stopped, so the copy is pause.
 * From a few megabytes on it runs on two cores: a worker thread
 * (clone_worker.S) copies the first half of the places, this thread the
 * rest. 17 MiB of pages scattered over a 1 GiB heap took 3.0-3.5 ms alone
 * and 1.8-1.9 ms on two threads here (docs/performance.md). Regions
 * without read permission are read through /proc/self/mem, by this
 * thread only: that descriptor's errors are reported from here.
 */
#include "ckpt_lib.h"
#include "bounce_copy.h"
#include "shared_writer.h" /* SHARED_WRITER_AREA */
#include "worker.h"
#include "../sys.h"

#define SPLIT_MIN (4u << 20) /* below it, starting a thread costs more than it saves */

/* Is extent k's copy one this call placed, at an offset in [lo, hi)? */
static int placed_in(const struct capture *c, uint32_t k, uint64_t lo, uint64_t hi)
{
	const char *to = (const char *)c->extent_src[k];
	return to >= c->bounce + lo && to < c->bounce + hi;
}

/* Copies the readable extents placed in [lo, hi). */
static void copy_readable(const struct capture *c, uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (r->flags & CKPT_REGION_UNREAD)
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
			if (c->extents[k].kind == CKPT_EXTENT_DATA && placed_in(c, k, lo, hi))
				__builtin_memcpy((void *)c->extent_src[k], (const void *)c->extents[k].start, c->extents[k].len);
	}
}

/* The unreadable ones, through /proc/self/mem: 0, or -1 with c->error. */
static int copy_unreadable(struct capture *c, uint64_t bounced)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (!(r->flags & CKPT_REGION_UNREAD))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
			const struct ckpt_extent *x = &c->extents[k];
			if (x->kind != CKPT_EXTENT_DATA || !placed_in(c, k, 0, bounced))
				continue;
			long err = read_unreadable(c, (void *)c->extent_src[k], x->start, x->len);
			if (err) {
				c->error.len = 0;
				line_str(&c->error, "cannot read region ");
				line_range(&c->error, r->start, r->end);
				line_str(&c->error, " (no read permission) through /proc/self/mem: ");
				line_str(&c->error, errno_text(err));
				return -1;
			}
		}
	}
	return 0;
}

/* Gives each extent to copy its place: the bytes placed, or -1. */
static long place(struct capture *c, int every)
{
	uint64_t bounced = 0;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (!every && !(r->vm_flags & (CKPT_VM_DONTFORK | CKPT_VM_WIPEONFORK)))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
			const struct ckpt_extent *x = &c->extents[k];
			if (x->kind != CKPT_EXTENT_DATA || c->extent_src[k])
				continue;
			if (bounced + x->len > c->bounce_cap)
				return capture_fail(c, every ? "too much memory to copy while the program is stopped"
							     : "too much MADV_DONTFORK/WIPEONFORK memory to copy", 0);
			c->extent_src[k] = (uint64_t)(c->bounce + bounced);
			bounced += x->len;
		}
	}
	return (long)bounced;
}

struct half {
	const struct capture *c;
	uint64_t hi;
	int32_t tid; /* cleared by the kernel, with a futex wake, as the worker exits */
};

static void copy_first_half(void *arg)
{
	const struct half *h = arg;
	copy_readable(h->c, 0, h->hi);
}

/* Starts the worker on [0, half); its stack is the top of scratch's
 * shared-writer area, whose writer starts only after this copy. 1 if it
 * runs. */
static int start_half(struct half *h)
{
	return start_worker(h->c->shared_area + SHARED_WRITER_AREA, &h->tid, copy_first_half, h) > 0;
}

long bounce_data(struct capture *c, int every, int alone)
{
	long bounced = place(c, every);
	if (bounced < 0)
		return -1;
	struct half h = {.c = c, .hi = (uint64_t)bounced / 2};
	int split = !alone && (uint64_t)bounced >= SPLIT_MIN && start_half(&h);
	copy_readable(c, split ? h.hi : 0, (uint64_t)bounced);
	if (split)
		wait_worker_gone(&h.tid);
	int rc = copy_unreadable(c, (uint64_t)bounced);
	/* A writer opens its own: this one would read the running program. */
	close_unreadable(c);
	return rc ? -1 : bounced;
}
