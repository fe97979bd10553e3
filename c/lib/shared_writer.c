/*
 * An incremental image written beside the running program, with no fork.
 *
 * Why: the background writer is a copy-on-write child, and making it
 * copies the program's page tables while the program is paused: 7-50 ms
 * for 1 GiB here, more than the capture itself (docs/performance.md). An
 * incremental image stores only the pages written since the last one,
 * and the helper summed the rest while the program ran (early_protect.c)
 * and copied the written ones (early_copy.c). So the pause copies to the
 * warm area only the pages written again since and those the helper did
 * not copy, resolves the chain against the parent there and then, and hands the
 * rest to a process that shares the program's memory (CLONE_VM) and reads
 * only scratch: no page table is copied.
 *
 * When: one process (not a tree), dumpable (the writer's /proc/self is
 * the program's mm's), every PARENT run summed by the helper, a readable
 * parent, and at most SHARED_DATA_MAX bytes to store, none of them in a
 * region without read permission. Otherwise the forked writer, as before.
 *
 * What the writer touches while the program runs on: scratch (its own
 * copy of the capture, the tables, the bounce copies, its stack), its own
 * %fs block (the LZ4 codec reads its stack canary at %fs:0x28, and the
 * program's thread whose TLS that was may exit meanwhile), and libckpt's
 * own data (ckpt_config, which only a request changes, and a request waits
 * for this writer first). Never the program's memory: every page it
 * stores was copied, and every PARENT checksum comes from the helper.
 *
 * How it ends: scratch is the program's memory, so the writer unmaps it
 * in its last instructions (unmap_and_exit.S), once the program has let go
 * of it, and sets `released`. A writer killed before that leaves it to the
 * program, which unmaps it after waiting for the writer, before its next
 * capture reads the memory map. MADV_DONTFORK keeps it out of children the
 * program forks meanwhile. Exec or exit of the program leaves the writer
 * the old memory: a CLONE_VM process holds its own reference to it.
 */
#include <asm/prctl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "early_copy.h"
#include "early_protect.h"
#include "bounce_copy.h"
#include "shared_writer.h"
#include "warm_bounce.h"
#include "../sys.h"

void unmap_and_exit(void *addr, uint64_t len, int32_t *released, int code) __attribute__((noreturn));

struct shared_writer {
	struct capture c;   /* a copy: the program's is on a stack it reuses */
	uint64_t started_ns;
	int program_pid;
	uint64_t tcb[8];    /* the %fs block: self pointers at 0 and 0x10, the canary at 0x28 */
	int32_t *finished;  /* set once image_write returns (background_writer.c, struct handoff) */
};

/* The program's side, in libckpt's data, which the writer sees too. */
static void *handed_scratch;
static uint64_t handed_len;
static int handed_owner; /* a forked child inherits these, not the scratch */
static int32_t released; /* set by the writer once it unmapped scratch */
static struct { int32_t ready; uint64_t pause_ns; } handoff;

static int summed(const struct capture *c, const struct ckpt_extent *x)
{
	return early_page_sums(c, x->start, x->len) != 0;
}

/* The bytes of PARENT runs the helper did not sum wholly. */
static uint64_t unsummed_parent_bytes(const struct capture *c)
{
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < c->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_PARENT && !summed(c, &c->extents[k]))
			bytes += c->extents[k].len;
	return bytes;
}

/* They are stored again, which is exact: their checksums would otherwise
 * be read by the writer from memory that runs on. */
static void store_unsummed(struct capture *c)
{
	for (uint32_t k = 0; k < c->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_PARENT && !summed(c, &c->extents[k]))
			c->extents[k].kind = CKPT_EXTENT_DATA;
}

/* The bytes the pause would copy, or more than SHARED_DATA_MAX where a
 * region cannot be read in place. */
static uint64_t bytes_to_copy(const struct capture *c)
{
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
			if (c->extents[k].kind == CKPT_EXTENT_DATA && !c->extent_src[k])
				bytes += r->flags & CKPT_REGION_UNREAD ? SHARED_DATA_MAX + 1 : c->extents[k].len;
	}
	return bytes;
}

/* The writer's copy of the capture: memory is live to it, and its bounce
 * area is what the pause left free, for the pieces it copies itself
 * (incremental.c). Its own %fs block carries the program's canary. */
static struct shared_writer *writer_start(const struct capture *c, uint64_t bounced, uint64_t started_ns)
{
	struct shared_writer *s = (struct shared_writer *)c->shared_area;
	s->c = *c;
	s->c.memory_live = 1;
	s->c.bounce += bounced, s->c.bounce_cap -= bounced;
	s->started_ns = started_ns;
	s->program_pid = (int)sys_getpid();
	uint64_t canary;
	__asm__("mov %%fs:0x28, %0" : "=r"(canary));
	s->tcb[0] = s->tcb[2] = (uint64_t)s->tcb;
	s->tcb[5] = canary;
	released = 0, handoff.ready = 0;
	return s;
}

/* The conditions that do not wait for the regions' flags: one process,
 * dumpable, the helper's runs taken, at most SHARED_DATA_MAX to copy
 * (`copied` already), and a parent whose header is the one tracking dates
 * from (a chain at its longest, or a parent that is not the one, after a
 * failed write, makes a full image). */
static int can_share(const struct capture *c, uint64_t copied, int read_parent)
{
	return !c->hdr->nmembers && !c->dumpable_lifted && c->early_taken &&
	       copied + unsummed_parent_bytes(c) + bytes_to_copy(c) <= SHARED_DATA_MAX &&
	       (!read_parent || parent_usable(c));
}

/* Copies made ahead, while smaps is walked (shared_copy_ahead): for which
 * image, how many bytes of the warm area, and the bounce area they
 * replaced, to undo them if the image is forked after all. */
static struct { uint64_t image_id, bytes; char *bounce; uint64_t cap; } ahead;

static void undo_ahead(struct capture *c)
{
	for (uint32_t k = 0; k < c->nextents; k++)
		c->extent_src[k] = 0; /* each pointed into the warm area: nothing else placed one yet */
	c->bounce = ahead.bounce, c->bounce_cap = ahead.cap;
	ahead.image_id = 0;
}

void shared_copy_ahead(struct capture *c)
{
	ahead.image_id = 0;
	char *warm;
	if (!can_share(c, 0, 1) || !(warm = warm_bounce()))
		return;
	store_unsummed(c);
	ahead.bounce = c->bounce, ahead.cap = c->bounce_cap;
	uint64_t early = early_copy_use(c, warm); /* most pages, copied before the stop */
	c->bounce = warm + early, c->bounce_cap = WARM_BOUNCE_BYTES - early;
	ahead.image_id = c->hdr->image_id;
	long n = bounce_data(c, 1, 1 /* alone: the other core walks smaps */);
	if (n < 0) {
		undo_ahead(c);
		c->error.len = 0; /* the pause tries again, and says why if it fails */
		return;
	}
	ahead.bytes = early + (uint64_t)n;
}

int prepare_shared_write(struct capture *c, uint64_t started_ns, struct shared_writer **w)
{
	*w = 0;
	if (c->early_taken) /* an incremental pause: says whether the next one will want the area */
		warm_bounce_wanted(!c->hdr->nmembers && !c->dumpable_lifted);
	int made_ahead = ahead.image_id && ahead.image_id == c->hdr->image_id;
	uint64_t copied = made_ahead ? ahead.bytes : 0;
	if (!can_share(c, copied, !made_ahead)) {
		if (made_ahead)
			undo_ahead(c);
		return 0;
	}
	char *warm = warm_bounce();
	if (!warm)
		return 0;
	store_unsummed(c);
	/* After the flags, what untrack_unstable_regions made DATA, if any. */
	c->bounce = warm + copied, c->bounce_cap = WARM_BOUNCE_BYTES - copied;
	long bounced = bounce_data(c, 1, 0);
	c->bounce = warm, c->bounce_cap = WARM_BOUNCE_BYTES;
	ahead.image_id = 0;
	if (bounced < 0)
		return -1;
	*w = writer_start(c, copied + (uint64_t)bounced, started_ns);
	return 0;
}

/* Waits until the program has let go of scratch, or has exited: 1, and
 * scratch may go. 0 when it cannot tell (no pidfd, and a second without
 * the word): scratch is left to the program (shared_scratch_reclaim). The
 * pause is the program's, or, if it never said, the part before the
 * writer started. */
static int wait_let_go(const struct shared_writer *s, uint64_t *pause_ns)
{
	const struct { long s, ns; } tick = {0, 100 * 1000 * 1000};
	long pidfd = sys_pidfd_open(s->program_pid);
	for (int ticks = 0; !__atomic_load_n(&handoff.ready, __ATOMIC_ACQUIRE); ticks++) {
		sys_futex(&handoff.ready, FUTEX_WAIT, 0, &tick);
		struct { int fd; short events, revents; } p = {(int)pidfd, 1 /* POLLIN: it exited */, 0};
		if (pidfd >= 0 ? sys_poll(&p, 1, 0) == 1 : ticks >= 10)
			break;
	}
	if (pidfd >= 0)
		sys_close((int)pidfd);
	int ready = __atomic_load_n(&handoff.ready, __ATOMIC_ACQUIRE);
	*pause_ns = ready ? handoff.pause_ns : monotonic_ns() - s->started_ns;
	return ready || pidfd >= 0;
}

static void shared_writer_main(void *arg)
{
	struct shared_writer *s = arg;
	sys_arch_prctl(ARCH_SET_FS, (unsigned long)s->tcb);
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-writer", 0, 0, 0);
	uint64_t size = 0, pause_ns;
	int rc = image_write(&s->c, &size, 1);
	__atomic_store_n(s->finished, 1, __ATOMIC_RELEASE);
	int scratch_may_go = wait_let_go(s, &pause_ns);
	report_background(&s->c, rc == 0, size, pause_ns, s->started_ns);
	if (rc == 0) /* image_write leaves it to an exit, which this is not for the memory */
		destroy_stream_aio(&s->c);
	if (scratch_may_go)
		unmap_and_exit(s->c.scratch, s->c.scratch_len, &released, rc == 0 ? 0 : 1);
	sys_exit_group(rc == 0 ? 0 : 1);
}

long start_shared_writer(struct shared_writer *w, int32_t *finished)
{
	w->finished = finished;
	return clone_vm_on_stack((char *)w + SHARED_WRITER_AREA, shared_writer_main, w);
}

void shared_scratch_handed(struct capture *c, uint64_t pause_ns)
{
	c->scratch_handed = 1;
	handed_scratch = c->scratch, handed_len = c->scratch_len, handed_owner = (int)sys_getpid();
	handoff.pause_ns = pause_ns;
	sys_madvise(c->scratch, c->scratch_len, MADV_DONTFORK);
}

void shared_scratch_let_go(void)
{
	__atomic_store_n(&handoff.ready, 1, __ATOMIC_RELEASE);
	sys_futex(&handoff.ready, FUTEX_WAKE, 1, 0);
}

int shared_scratch_out(void)
{
	return handed_scratch != 0;
}

static void clear_handed(void)
{
	handed_scratch = 0;
	released = 0;
	handoff.ready = 0;
}

void shared_scratch_reclaim(void)
{
	if (handed_scratch && handed_owner == (int)sys_getpid() && !__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		sys_munmap(handed_scratch, handed_len);
	clear_handed();
}

void shared_scratch_forget(void)
{
	clear_handed();
	warm_bounce_forget();
}
