/*
 * The page server's memory work (lazy_server.c drives it): each lazy
 * extent read from the image whole, its checksum checked, and only then
 * copied into the program with UFFDIO_COPY, so no byte the checksum has
 * not vouched for ever reaches it. A mismatch kills the program before it
 * runs on with those pages missing, and says so in one line.
 *
 * While loading goes on, the program may release memory still to load
 * (MADV_DONTNEED, munmap) or move it (mremap). The kernel reports each as
 * an event, kept here in order as an edit: a page of the image then goes
 * where its bytes moved to, or nowhere once released (those pages read as
 * zero from then on, as anonymous memory does, never as image bytes).
 * Edits only matter while something is left to load; a program making
 * more than EDITS_MAX of them in that time is killed rather than guessed
 * about (docs/lazy-restart.md, "Limits").
 */
#include <linux/errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../crc32c.h"
#include "../sys.h"

#define EDITS_MAX 4096
enum { TO_LOAD = 1, LOADED = 2 };

struct edit {
	uint64_t from, to, len; /* [from, from + len) moved to `to`; released when to == 0 */
};

static int uffd, program;      /* the userfaultfd and a pidfd of the program */
static uint8_t *state;         /* one byte per extent: TO_LOAD, LOADED, or 0: not ours */
/* Extents are read whole (their checksum covers the whole), one for the
 * background and one for a fault, so a fault never waits for a large
 * background read to end: that gives way every READ_CHUNK. */
#define READ_CHUNK (2u << 20)
struct reader {
	char *buf;
	int64_t k;          /* the extent it holds, or is reading */
	uint64_t got;       /* bytes read so far */
	uint32_t crc;       /* of those */
	int checked;        /* all read, and the checksum matched */
};
static struct reader readers[2] = {{.k = -1}, {.k = -1}};
static struct edit *edits;
static uint32_t nedits;

__attribute__((noreturn)) void lazy_fail(const char *what, const struct ckpt_extent *e, long err)
{
	/* The line first: the program's end may end this process too (the
	 * pid namespace goes with its init). */
	struct line l = {.len = 0};
	line_str(&l, "ckpt: cannot restart ");
	line_str(&l, restart.image);
	line_str(&l, ": ");
	line_str(&l, what);
	if (e) {
		line_str(&l, e->kind == CKPT_EXTENT_PARENT ? " at offset " : " at image offset ");
		line_u64(&l, e->data_offset);
		if (e->kind == CKPT_EXTENT_PARENT)
			line_str(&l, " of an older image of the chain");
	}
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	line_str(&l, "; the program was killed before it could use that memory (--lazy)\n");
	sys_write(restart.err_fd, l.buf, l.len);
	sys_pidfd_send_signal(program, SIGKILL, 0);
	sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
}

static int stored_plain(const struct ckpt_extent *e)
{
	return !ckpt_extent_stored(e->kind) || (!ckpt_extent_compressed(e) && !extent_is_uncharged(e));
}

/* Private anonymous memory that holds stored bytes, each read as it is. A
 * compressed, uncharged or unreadable region loads eagerly as before. */
int region_loads_lazily(const struct ckpt_region *r)
{
	if ((r->kind != CKPT_REGION_ANON && r->kind != CKPT_REGION_STACK) || uncharged(r) ||
	    (r->flags & CKPT_REGION_UNREAD))
		return 0;
	int stored = 0;
	for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
		if (!stored_plain(&restart.extents[k]))
			return 0;
		stored |= ckpt_extent_stored(restart.extents[k].kind);
	}
	return stored;
}

static void *map_or_fail(uint64_t len, const char *what)
{
	long m = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		lazy_fail(what, 0, m);
	return (void *)m;
}

void lazy_copy_init(int userfaultfd, int program_pidfd)
{
	uffd = userfaultfd, program = program_pidfd;
	const struct ckpt_header *h = restart.hdr;
	state = map_or_fail(h->nextents + 1, "cannot map the page server's table");
	uint64_t largest = CKPT_PAGE_SIZE;
	for (uint32_t i = 0; i < h->nregions; i++) {
		const struct ckpt_region *r = &restart.regions[i];
		if (!region_loads_lazily(r))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
			if (ckpt_extent_stored(restart.extents[k].kind)) {
				state[k] = TO_LOAD;
				if (restart.extents[k].len > largest)
					largest = restart.extents[k].len;
			}
	}
	for (int i = 0; i < 2; i++)
		readers[i].buf = map_or_fail(largest, "cannot map the page server's buffer");
	edits = map_or_fail(EDITS_MAX * sizeof *edits, "cannot map the page server's table");
}

uint32_t lazy_next_to_load(uint32_t from, uint64_t longest)
{
	while (from < restart.hdr->nextents && (state[from] != TO_LOAD || restart.extents[from].len > longest))
		from++;
	return from;
}

/* Extent k still to load, right after k - 1 in memory, which is not
 * (loaded, or a hole): what a program reading its memory in order reaches
 * next. */
int lazy_continues_loaded(uint32_t k)
{
	const struct ckpt_extent *e = restart.extents;
	return k > 0 && k < restart.hdr->nextents && state[k] == TO_LOAD && state[k - 1] != TO_LOAD &&
	       e[k - 1].start + e[k - 1].len == e[k].start;
}

/* Regions are sorted and apart (validate.c), each one's extents in order. */
int lazy_extent_at(uint64_t addr)
{
	uint32_t lo = 0, hi = restart.hdr->nregions;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct ckpt_region *r = &restart.regions[mid];
		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else {
			for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
				const struct ckpt_extent *e = &restart.extents[k];
				if (addr >= e->start && addr < e->start + e->len)
					return state[k] == TO_LOAD ? (int)k : -1;
			}
			return -1;
		}
	}
	return -1;
}

/* Newest edit first: where the page at `addr` now was in the image's
 * layout, or *released when its bytes were let go since. */
uint64_t lazy_original_address(uint64_t addr, int *released)
{
	*released = 0;
	for (uint32_t i = nedits; i-- > 0;) {
		const struct edit *d = &edits[i];
		if (d->to && addr >= d->to && addr - d->to < d->len)
			addr = d->from + (addr - d->to);
		else if (!d->to && addr >= d->from && addr - d->from < d->len) {
			*released = 1;
			return addr;
		}
	}
	return addr;
}

/* Oldest edit first: where the image's page at `addr` goes now, or 0. */
static uint64_t current_address(uint64_t addr)
{
	for (uint32_t i = 0; i < nedits; i++) {
		const struct edit *d = &edits[i];
		if (addr >= d->from && addr - d->from < d->len) {
			if (!d->to)
				return 0;
			addr = d->to + (addr - d->from);
		}
	}
	return addr;
}

void lazy_record_event(const void *msg)
{
	const struct uffd_msg *m = msg;
	if (lazy_next_to_load(0, ~0ull) >= restart.hdr->nextents)
		return; /* nothing left that an edit could apply to */
	if (nedits == EDITS_MAX)
		lazy_fail("the program released or moved memory more often than the page server can follow while loading", 0, 0);
	struct edit *d = &edits[nedits++];
	if (m->event == UFFD_EVENT_REMAP)
		*d = (struct edit){m->arg.remap.from, m->arg.remap.to, m->arg.remap.len};
	else /* UFFD_EVENT_REMOVE and UFFD_EVENT_UNMAP share their layout */
		*d = (struct edit){m->arg.remove.start, 0, m->arg.remove.end - m->arg.remove.start};
}

/* The page already there (EEXIST: loaded, or zeroed after a release) and
 * a page no longer ours (ENOENT: unmapped, or another mapping now) are
 * both left alone; a range crossing into one of those is retried a page
 * at a time. EAGAIN: an event is waiting to be read first. ESRCH: the
 * program's memory is gone (it exited or exec'd): nothing left to serve. */
static long copy_pages(uint64_t to, const char *from, uint64_t len)
{
	while (len) {
		struct uffdio_copy c = {.dst = to, .src = (uint64_t)from, .len = len, .mode = 0};
		long err = sys_ioctl(uffd, UFFDIO_COPY, &c);
		if (err == 0)
			return 0;
		uint64_t did = c.copy > 0 ? (uint64_t)c.copy : 0;
		if (err == -EAGAIN)
			return err;
		if (err == -ESRCH)
			sys_exit_group(0);
		if (!did) {
			if (err != -EEXIST && err != -ENOENT)
				return err;
			if (len > CKPT_PAGE_SIZE) {
				c = (struct uffdio_copy){.dst = to, .src = (uint64_t)from, .len = CKPT_PAGE_SIZE, .mode = 0};
				err = sys_ioctl(uffd, UFFDIO_COPY, &c);
				if (err == -EAGAIN || err == -ESRCH)
					return err == -ESRCH ? (sys_exit_group(0), 0) : err;
				if (err && err != -EEXIST && err != -ENOENT)
					return err;
			}
			did = CKPT_PAGE_SIZE;
		}
		to += did, from += did, len -= did;
	}
	return 0;
}

/* A fault waits to be read: a background read gives way to it. */
static int fault_waiting(void)
{
	struct { int fd; short events, revents; } p = {uffd, 1 /* POLLIN */, 0};
	return sys_poll(&p, 1, 0) > 0;
}

/* An extent's bytes into r's buffer, READ_CHUNK at a time, the checksum
 * going along; `yielding`: stop early (-EINTR, the progress kept) when a
 * fault waits. Then the checksum decides. */
static long fill(struct reader *r, uint32_t k, int yielding)
{
	const struct ckpt_extent *e = &restart.extents[k];
	if (r->k != k)
		r->k = k, r->got = 0, r->crc = 0, r->checked = 0;
	while (r->got < e->len) {
		uint64_t want = e->len - r->got < READ_CHUNK ? e->len - r->got : READ_CHUNK;
		long err = sys_pread_full(extent_fd(e), r->buf + r->got, want, (long)(e->data_offset + r->got));
		if (err < 0)
			lazy_fail("cannot read memory contents from the image", e, err);
		r->crc = crc32c_update(r->crc, r->buf + r->got, want);
		r->got += want;
		if (yielding && r->got < e->len && fault_waiting())
			return -EINTR;
	}
	if (r->crc != e->crc)
		lazy_fail("memory contents checksum mismatch (corrupt image)", e, 0);
	r->checked = 1;
	return 0;
}

long lazy_load_extent(uint32_t k, int background)
{
	const struct ckpt_extent *e = &restart.extents[k];
	/* A fault in the extent the background is reading finishes that read. */
	struct reader *r = background || readers[0].k == k ? &readers[0] : &readers[1];
	long err = r->checked && r->k == k ? 0 : fill(r, k, background);
	if (err)
		return err;
	if (!nedits)
		err = copy_pages(e->start, r->buf, e->len);
	for (uint64_t at = 0; nedits && at < e->len && !err; at += CKPT_PAGE_SIZE) {
		uint64_t to = current_address(e->start + at);
		if (to)
			err = copy_pages(to, r->buf + at, CKPT_PAGE_SIZE);
	}
	if (err == -EAGAIN)
		return err;
	if (err)
		lazy_fail("cannot copy memory into the program", e, err);
	state[k] = LOADED;
	return 0;
}
