/*
 * The data of a compressed image (--compress): every DATA extent (capture
 * cuts them to CKPT_COMPRESS_BLOCK with compression on) becomes one LZ4
 * block, written back to back from data_offset on, in table order.
 *
 * - LZ4, not zstd: measured here on the bench's data (docs/performance.md),
 *   zstd level 1 stores a tenth less at half LZ4's speed compressing and a
 *   quarter of it inflating, which two cores cannot hide; and LZ4's block
 *   decompressor needs nothing but memcpy, so the restore stub, which has
 *   no libc, can link it.
 * - In parallel: every core compresses (this thread and one helper per
 *   other core, raw clone() threads on stacks in scratch: no pthreads, no
 *   malloc, in a signal handler or the background writer alike). Each
 *   takes the next extent; this thread also puts finished blocks in order
 *   into the file. A helper is at most WINDOW extents ahead of the file.
 * - Compressed straight from memory (pages without read permission are
 *   read into the thread's buffer first). A page that changes meanwhile
 *   (stacks below the resume points, rseq areas, shared memory) still gives
 *   a well-formed block of the extent's length, and the checksum is of
 *   exactly the bytes written, as in data_stream.c. A copy first cost a
 *   tenth of the checkpoint time here.
 * - A block of zeros is stored as nothing (stored_len 0); a block that
 *   does not shrink is stored as it is (stored_len == len).
 * - Blocks have no alignment, so they are put side by side in a staging
 *   buffer, written out 2 MiB at a time at aligned offsets with O_DIRECT,
 *   and the last piece padded with zeros to a whole page. Through the page
 *   cache instead, each 2 MiB pwrite took 4.5 ms here (1.2 s of a 1.9 s
 *   checkpoint of 1 GiB): this VM pays dearly for fresh page-cache pages.
 *   Where the file system refuses O_DIRECT, the pieces go through the page
 *   cache and their writeback starts at once (sync_file_range), so the
 *   final fsync finds little left.
 * - The writes are made by a thread of their own (the stager), from STAGES
 *   buffers in turn, so the filing thread compresses while the disk
 *   writes: it spent a third of its time waiting in pwrite, and --compress
 *   took x1.77 of a plain checkpoint (docs/performance.md, "Compression
 *   writes on a thread of its own"). The stager mostly sleeps in the
 *   device's wait, so two cores still compress.
 *
 * The file was sized for the uncompressed data first (stored_len never
 * exceeds len), so no write extends it; image_writer.c moves what follows
 * the data up to the page after the last block and truncates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include "all_zero.h"
#include "ckpt_lib.h"
#include "direct_io.h"
#include "worker.h"
#include "../crc32c.h"
#include "../sys.h"

#ifndef CKPT_HAVE_LZ4
/* Built without liblz4-dev: the launcher refuses --compress, and init.c
 * never turns it on, so neither is called; a caller that did would fail
 * the checkpoint, not write a wrong image. */
uint64_t compressed_stream_area(void)
{
	return 0;
}

long write_compressed_stream(struct capture *c, int fd, uint64_t *end)
{
	(void)c, (void)fd, (void)end;
	return -ENOSYS;
}
#else
#include <lz4.h>

#define MAX_HELPERS 7
#define WINDOW 16                   /* blocks done and waiting for the file, at most */
#define OUT_CAP LZ4_COMPRESSBOUND(CKPT_COMPRESS_BLOCK)
#define STAGE (2u << 20)            /* bytes per write */
#define HELPER_STACK (64u << 10)
#define STAGES 3                    /* one being filled, the others written */
#define STATE_CAP (32u << 10)       /* LZ4_sizeofState(): 16 KiB in 1.9 */

struct worker {
	char in[CKPT_COMPRESS_BLOCK];
	char state[STATE_CAP] __attribute__((aligned(64)));
	char stack[HELPER_STACK] __attribute__((aligned(16)));
	int32_t tid;                /* the kernel clears it when the helper is gone */
	struct pack *p;
};

struct pack {
	struct capture *c;
	uint32_t next;              /* the next extent to take */
	uint32_t filed;             /* extents before this one are in the file */
	int32_t done[WINDOW];       /* extent k + 1 when out[k % WINDOW] holds it */
	long err;                   /* the first failure, for everyone to stop at */
	uint64_t err_addr;          /* where reading memory failed */
	char out[WINDOW][OUT_CAP];
	/* Staging: pieces posted by the filing thread, written by the stager in order. */
	struct { /* each at a page boundary: O_DIRECT's alignment */
		char b[STAGE + OUT_CAP];
	} __attribute__((aligned(CKPT_PAGE_SIZE))) stage[STAGES];
	uint64_t stage_at[STAGES];  /* the file offset of each posted piece */
	uint32_t posted, written;   /* futex words: pieces handed over, pieces written */
	int32_t closing;            /* no more pieces will come */
	int fd, direct;
	long write_err;             /* the stager's first failure */
	char stager_stack[HELPER_STACK] __attribute__((aligned(16)));
	int32_t stager_tid;
	struct worker workers[MAX_HELPERS + 1];
};

/* Bytes of scratch compression needs (scratch.c reserves them): whole
 * pages, as every part of scratch is, so its end is a page boundary. */
uint64_t compressed_stream_area(void)
{
	return align_up(sizeof(struct pack) + CKPT_PAGE_SIZE, CKPT_PAGE_SIZE);
}

static void futex_wait(int32_t *word, int32_t was)
{
	SYS4(__NR_futex, word, 0 /* FUTEX_WAIT: the kernel's tid clear wakes so */, was, 0);
}

static void futex_wake(void *word)
{
	SYS3(__NR_futex, word, 1 /* FUTEX_WAKE */, 0x7fffffff);
}

static const struct ckpt_region *region_of(const struct capture *c, uint64_t addr)
{
	uint32_t lo = 0, hi = c->nregions;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (c->regions[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &c->regions[lo];
}


/* Extent k into out[k % WINDOW]: its stored bytes, stored_len and crc. */
static long pack_extent(struct pack *p, struct worker *w, uint32_t k)
{
	struct capture *c = p->c;
	struct ckpt_extent *e = &c->extents[k];
	if (e->len > CKPT_COMPRESS_BLOCK)
		return -E2BIG; /* capture cut them: cannot happen */
	const char *in = (const char *)(c->extent_src[k] ? c->extent_src[k] : e->start);
	if (!c->extent_src[k] && (region_of(c, e->start)->flags & CKPT_REGION_UNREAD)) {
		long err = read_unreadable(c, w->in, e->start, e->len);
		if (err) {
			p->err_addr = e->start;
			return err;
		}
		in = w->in;
	}
	char *out = p->out[k % WINDOW];
	if (all_zero(in, e->len)) {
		e->stored_len = 0;
	} else {
		int n = LZ4_compress_fast_extState(w->state, in, out, (int)e->len, OUT_CAP, 1);
		if (n > 0 && (uint64_t)n < e->len) {
			e->stored_len = (uint64_t)n;
		} else {
			__builtin_memcpy(out, in, e->len);
			e->stored_len = e->len;
		}
	}
	e->crc = crc32c_update(0, out, e->stored_len);
	return 0;
}

/* Takes and packs extent k (any kind; only DATA has bytes), then says so. */
static void take(struct pack *p, struct worker *w, uint32_t k)
{
	if (p->c->extents[k].kind == CKPT_EXTENT_DATA && !__atomic_load_n(&p->err, __ATOMIC_RELAXED)) {
		long err = pack_extent(p, w, k);
		if (err)
			__atomic_compare_exchange_n(&p->err, &(long){0}, err, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&p->done[k % WINDOW], (int32_t)(k + 1), __ATOMIC_RELEASE);
	futex_wake(&p->done[k % WINDOW]);
}

static void helper(void *arg)
{
	struct worker *w = arg;
	struct pack *p = w->p;
	for (;;) {
		uint32_t k = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (k >= p->c->nextents)
			return;
		uint32_t filed;
		while (k >= (filed = __atomic_load_n(&p->filed, __ATOMIC_ACQUIRE)) + WINDOW)
			futex_wait((int32_t *)&p->filed, (int32_t)filed);
		take(p, w, k);
	}
}

/* The filing thread takes an extent only when it cannot have to wait for
 * the window: it is the one that moves it. */
static int take_if_in_window(struct pack *p, struct worker *w)
{
	uint32_t k = __atomic_load_n(&p->next, __ATOMIC_RELAXED);
	do {
		if (k >= p->c->nextents || k >= p->filed + WINDOW)
			return 0;
	} while (!__atomic_compare_exchange_n(&p->next, &k, k + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	take(p, w, k);
	return 1;
}

/* One staged piece at its offset: past the page cache while *direct, else
 * through it with its writeback started. */
static long write_at(int fd, int *direct, const char *b, uint64_t len, uint64_t off)
{
	for (uint64_t left = len, at = off; left;) {
		long n = sys_pwrite(fd, b, left, (long)at);
		if (n == -EINVAL && *direct && set_direct_io(fd, 0) == 0) {
			*direct = 0; /* an alignment the file system wants: the page cache from now on */
			continue;
		}
		if (n <= 0)
			return n < 0 ? n : -EIO;
		b += n, left -= (uint64_t)n, at += (uint64_t)n;
	}
	if (!*direct)
		SYS4(__NR_sync_file_range, fd, off, len, 2 /* SYNC_FILE_RANGE_WRITE: start, do not wait */);
	return 0;
}

/* The stager: each posted piece written in turn; after a failure the
 * rest are only counted, so the filing thread never waits for ever. */
static void stager(void *arg)
{
	struct pack *p = arg;
	for (uint32_t n = 0;; n++) {
		uint32_t posted;
		while (n == (posted = __atomic_load_n(&p->posted, __ATOMIC_ACQUIRE))) {
			if (__atomic_load_n(&p->closing, __ATOMIC_ACQUIRE))
				return;
			futex_wait((int32_t *)&p->posted, (int32_t)posted);
		}
		if (!p->write_err)
			__atomic_store_n(&p->write_err, write_at(p->fd, &p->direct, p->stage[n % STAGES].b, STAGE, p->stage_at[n % STAGES]),
					 __ATOMIC_RELAXED);
		__atomic_store_n(&p->written, n + 1, __ATOMIC_RELEASE);
		futex_wake(&p->written);
	}
}

/* Stage buffer n, once piece n - STAGES in it has been written. */
static char *stage_free(struct pack *p, uint32_t n)
{
	uint32_t written;
	while (n >= (written = __atomic_load_n(&p->written, __ATOMIC_ACQUIRE)) + STAGES)
		futex_wait((int32_t *)&p->written, (int32_t)written);
	return p->stage[n % STAGES].b;
}

/* Piece n, STAGE bytes at file offset `at`: the stager's, or written here
 * where no stager could start. */
static long hand_over(struct pack *p, int stager_started, uint32_t n, uint64_t at)
{
	long err = 0;
	p->stage_at[n % STAGES] = at;
	if (!stager_started)
		err = write_at(p->fd, &p->direct, p->stage[n % STAGES].b, STAGE, at);
	__atomic_store_n(stager_started ? &p->posted : &p->written, n + 1, __ATOMIC_RELEASE);
	futex_wake(&p->posted);
	return err;
}

/* Every posted piece written, the stager gone; its first failure. */
static long drain(struct pack *p, int started)
{
	__atomic_store_n(&p->closing, 1, __ATOMIC_RELEASE);
	futex_wake(&p->posted);
	if (started)
		wait_worker_gone(&p->stager_tid);
	return p->write_err;
}

/* The last piece, zero-padded to a whole page for O_DIRECT: the file's
 * next part starts at the page after the data anyway (image_writer.c). */
static long write_last(struct pack *p, char *stage, uint64_t staged, uint64_t staged_at)
{
	uint64_t whole = align_up(staged, CKPT_PAGE_SIZE);
	for (uint64_t i = staged; i < whole; i++)
		stage[i] = 0;
	long err = write_at(p->fd, &p->direct, stage, whole, staged_at);
	if (p->direct && set_direct_io(p->fd, 0) && !err)
		err = -EIO; /* the writes after ours must not be held to O_DIRECT's alignment */
	return err;
}

/* Extent k, once packed, into the stage; returns the first failure. */
static long wait_packed(struct pack *p, uint32_t k)
{
	int32_t d;
	while ((d = __atomic_load_n(&p->done[k % WINDOW], __ATOMIC_ACQUIRE)) != (int32_t)(k + 1))
		if (!take_if_in_window(p, &p->workers[0]))
			futex_wait(&p->done[k % WINDOW], d);
	long err = __atomic_load_n(&p->err, __ATOMIC_RELAXED);
	return err ? err : __atomic_load_n(&p->write_err, __ATOMIC_RELAXED);
}

/* Files the blocks in order, each full STAGE handed to the stager;
 * returns the first byte after the last. */
static long file_blocks(struct pack *p, int fd, uint64_t *end)
{
	struct capture *c = p->c;
	uint64_t at = c->hdr->data_offset, staged = 0, staged_at = at;
	p->fd = fd, p->direct = set_direct_io(fd, 1) == 0;
	p->posted = p->written = 0, p->closing = 0, p->write_err = 0;
	int stager_started = start_worker(p->stager_stack + HELPER_STACK, &p->stager_tid, stager, p) > 0;
	uint32_t n = 0;
	char *stage = p->stage[0].b;
	long err = 0;
	for (uint32_t k = 0; k < c->nextents && !err; k++) {
		if ((err = wait_packed(p, k)))
			break;
		struct ckpt_extent *e = &c->extents[k];
		if (e->kind == CKPT_EXTENT_DATA) {
			e->data_offset = at;
			__builtin_memcpy(stage + staged, p->out[k % WINDOW], e->stored_len);
			staged += e->stored_len, at += e->stored_len;
		}
		__atomic_store_n(&p->filed, k + 1, __ATOMIC_RELEASE);
		futex_wake(&p->filed);
		if (staged >= STAGE) {
			char *next = stage_free(p, n + 1);
			__builtin_memcpy(next, stage + STAGE, staged - STAGE);
			err = hand_over(p, stager_started, n++, staged_at);
			stage = next, staged -= STAGE, staged_at += STAGE;
		}
	}
	long write_err = drain(p, stager_started);
	if (!err)
		err = write_err;
	if (!err)
		err = write_last(p, stage, staged, staged_at);
	else if (p->direct)
		set_direct_io(fd, 0);
	*end = at;
	return err;
}

long write_compressed_stream(struct capture *c, int fd, uint64_t *end)
{
	if (LZ4_sizeofState() > (int)STATE_CAP)
		return -ENOMEM; /* another liblz4 than the one measured */
	struct pack *p = (struct pack *)align_up((uint64_t)c->compress_area, CKPT_PAGE_SIZE);
	p->c = c, p->next = 0, p->filed = 0, p->err = 0;
	for (int i = 0; i < WINDOW; i++)
		p->done[i] = 0;
	read_unreadable(c, 0, 0, 0); /* opens /proc/self/mem now, not racing in the helpers */
	int helpers = usable_cpus() - 1;
	if (helpers > MAX_HELPERS)
		helpers = MAX_HELPERS;
	for (int i = 1; i <= helpers; i++) {
		struct worker *w = &p->workers[i];
		w->p = p;
		if (clone_worker(w->stack + HELPER_STACK, &w->tid, helper, w) < 0)
			w->tid = 0; /* fewer helpers is fine */
	}
	long err = file_blocks(p, fd, end);
	if (err) { /* the helpers finish what they hold and see no more */
		__atomic_store_n(&p->next, c->nextents, __ATOMIC_RELAXED);
		__atomic_store_n(&p->filed, c->nextents, __ATOMIC_RELEASE);
		futex_wake(&p->filed);
	}
	for (int i = 1; i <= helpers; i++)
		wait_worker_gone(&p->workers[i].tid);
	if (err && p->err_addr) {
		c->error.len = 0;
		line_str(&c->error, "cannot read memory with no read permission at ");
		line_hex(&c->error, p->err_addr);
		line_str(&c->error, " through /proc/self/mem: ");
		line_str(&c->error, errno_text(err));
	}
	return err;
}
#endif /* CKPT_HAVE_LZ4 */
