/*
 * The data: every DATA extent in table order, one stream of page-aligned
 * bytes from data_offset on. It goes to disk through a small staging ring
 * in scratch (RING_SLOTS slots of RING_SLOT bytes), not straight from the
 * program's memory:
 *
 * - Each piece is copied into a slot and checksummed there, so every
 *   checksum is of exactly the bytes written, even for pages that change
 *   while we write: stacks (ours, and those of stopped threads on their
 *   way to sleep; all below the resume points, dead after a restart), rseq
 *   areas (the kernel rewrites a thread's cpu id whenever it moves to
 *   another CPU, even while it sleeps in our handler), shared memory
 *   another process writes. The copy is made PIECE bytes at a time, which
 *   stay in L2 cache for the checksum: memory is read from RAM once.
 * - Slots are written with O_DIRECT: no copy into the page cache, nothing
 *   left to write back at fsync, and writing costs what the device takes.
 * - Writes are asynchronous (Linux AIO): every slot but the one being
 *   filled is in flight at once, since a disk that gets one request at a
 *   time idles between them (measured here: 1 MiB requests one at a time
 *   reach two thirds of the rate of four at a time). The file is sized to
 *   its end first, because a write past the end of a file waits for the
 *   ones before it. So the device works while we copy and checksum, on
 *   one thread.
 * - The ring is made of transparent huge pages, a slot is one of them: one
 *   physically contiguous block. A virtio disk takes a request as a list of segments,
 *   one per contiguous piece: straight from the program's scattered 4 KiB
 *   pages every request is hundreds of them, and measured here that costs
 *   a third to a half of what the disk writes per second. Without huge
 *   pages it all still works, slower.
 * - The ring is small because fresh memory is not free either: in a VM
 *   that hands free pages back to the host, the first touch of a huge page
 *   can cost milliseconds. Of the rings measured (2 to 32 MiB, slots of 1
 *   to 8 MiB), four slots of 2 MiB were as fast as any and touch the least
 *   fresh memory of those.
 *
 * A filesystem that cannot do O_DIRECT refuses it at fcntl (or, for an
 * alignment it needs, with EINVAL at a write): the slots then go through
 * the page cache with plain pwrite. Everything else in the file does
 * anyway, in page ranges of its own: header and tables below data_offset,
 * pipe contents from the page after the last extent. Without AIO
 * (io_setup refused) slots are written one at a time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <linux/aio_abi.h>
#include <sys/mman.h>
#include "ckpt_lib.h"
#include "direct_io.h"
#include "../crc32c.h"
#include "../sys.h"

#define PIECE (256u << 10)
/* A small stream (SMALL_STREAM bytes or less) is written one slot at a
 * time, through a single slot of SMALL_SLOT bytes in ordinary pages: an AIO
 * context costs an RCU grace period when it goes (at io_destroy or at exit:
 * 30-40 ms measured here), and a fresh huge page can cost more than
 * writing a few MiB from scattered pages does. */
#define SMALL_STREAM (16u << 20)
#define SMALL_SLOT (1u << 20)
#define HUGE_PAGE (2ull << 20)

struct stream {
	struct capture *c;
	char *ring;
	uint64_t total;           /* bytes in the stream */
	uint64_t slot_size;       /* RING_SLOT, or SMALL_SLOT for a small stream */
	uint32_t nslots;          /* slots it takes */
	uint32_t k;               /* filling: the extent, */
	uint64_t at;              /* and the offset in it, */
	uint32_t r;               /* and its region */
	int fd, direct;
	uint64_t aio;             /* AIO context, 0 without */
	struct iocb cb[RING_SLOTS];
	int busy[RING_SLOTS];     /* a write from this slot is in flight */
	int inflight;
};

static const char *source(const struct capture *c, uint32_t k)
{
	/* a copy made before a fork (MADV_DONTFORK, MADV_WIPEONFORK), or memory */
	return (const char *)(c->extent_src[k] ? c->extent_src[k] : c->extents[k].start);
}

static uint64_t slot_len(const struct stream *s, uint32_t n)
{
	uint64_t left = s->total - n * s->slot_size;
	return left < s->slot_size ? left : s->slot_size;
}

/* Written one at a time, every slot can be the first: less fresh memory. */
static char *slot(const struct stream *s, uint32_t n)
{
	return s->ring + (s->aio ? (n % RING_SLOTS) * s->slot_size : 0);
}

/* Pages without read permission come through /proc/self/mem
 * (unreadable_memory.c); a failure there is said as such. */
static long copy_piece(struct stream *s, char *to, uint64_t piece)
{
	struct capture *c = s->c;
	while (s->k >= c->regions[s->r].first_extent + c->regions[s->r].nextents)
		s->r++;
	if (c->extent_src[s->k] || !(c->regions[s->r].flags & CKPT_REGION_UNREAD)) {
		__builtin_memcpy(to, source(c, s->k) + s->at, piece);
		return 0;
	}
	uint64_t addr = c->extents[s->k].start + s->at;
	long err = read_unreadable(c, to, addr, piece);
	if (err) {
		c->error.len = 0;
		line_str(&c->error, "cannot read memory with no read permission at ");
		line_hex(&c->error, addr);
		line_str(&c->error, " through /proc/self/mem: ");
		line_str(&c->error, errno_text(err));
	}
	return err;
}

/* Copies the next slot_len(n) bytes of the stream into slot n, each
 * extent's checksum taken over the copy as it goes. */
static long fill(struct stream *s, uint32_t n)
{
	struct capture *c = s->c;
	char *to = slot(s, n);
	for (uint64_t len = 0, want = slot_len(s, n); len < want;) {
		struct ckpt_extent *e = &c->extents[s->k];
		if (e->kind != CKPT_EXTENT_DATA) {
			s->k++;
			continue;
		}
		uint64_t piece = e->len - s->at;
		if (piece > want - len)
			piece = want - len;
		if (piece > PIECE)
			piece = PIECE;
		long err = copy_piece(s, to + len, piece);
		if (err)
			return err;
		e->crc = crc32c_update(s->at ? e->crc : 0, to + len, piece);
		len += piece, s->at += piece;
		if (s->at == e->len)
			s->k++, s->at = 0;
	}
	return 0;
}

/* pwrite until done; what O_DIRECT refuses goes through the page cache. */
static long write_all(struct stream *s, const char *p, uint64_t len, uint64_t off)
{
	while (len) {
		long n = sys_pwrite(s->fd, p, len, (long)off);
		if (n == -EINVAL && s->direct) {
			s->direct = 0;
			if (set_direct_io(s->fd, 0) == 0)
				continue;
		}
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		p += n, len -= (uint64_t)n, off += (uint64_t)n;
	}
	return 0;
}

/* Waits for at least one write to complete. A short one is finished with
 * pwrite, as is one O_DIRECT refused. */
static long reap(struct stream *s)
{
	struct io_event ev[RING_SLOTS];
	long n = sys_io_getevents(s->aio, 1, RING_SLOTS, ev);
	if (n < 0)
		return n == -EINTR ? 0 : n;
	long err = 0;
	for (long i = 0; i < n; i++) {
		struct iocb *cb = &s->cb[ev[i].data];
		s->busy[ev[i].data] = 0, s->inflight--;
		int64_t res = ev[i].res;
		uint64_t done = res > 0 ? (uint64_t)res : 0;
		if (res < 0 && res != -EINVAL && !err)
			err = res;
		else if (done < cb->aio_nbytes && !err)
			err = write_all(s, (const char *)cb->aio_buf + done, cb->aio_nbytes - done, (uint64_t)cb->aio_offset + done);
	}
	return err;
}

static long write_slot(struct stream *s, uint32_t n)
{
	uint32_t k = n % RING_SLOTS;
	uint64_t off = s->c->hdr->data_offset + n * s->slot_size;
	if (!s->aio || !s->direct)
		return write_all(s, slot(s, n), slot_len(s, n), off);
	s->cb[k] = (struct iocb){.aio_data = k, .aio_lio_opcode = IOCB_CMD_PWRITE, .aio_fildes = (uint32_t)s->fd,
				 .aio_buf = (uint64_t)slot(s, n), .aio_nbytes = slot_len(s, n), .aio_offset = (int64_t)off};
	struct iocb *one = &s->cb[k];
	long r = sys_io_submit(s->aio, 1, &one);
	if (r == 1) {
		s->busy[k] = 1, s->inflight++;
		return 0;
	}
	return r == -EINVAL || r == -EAGAIN ? write_all(s, slot(s, n), slot_len(s, n), off) : r < 0 ? r : -EIO;
}

static long write_extents(struct capture *c, int fd, int *direct)
{
	struct stream *s = (struct stream *)c->writer_area;
	*s = (struct stream){.c = c, .fd = fd, .direct = *direct};
	s->ring = (char *)align_up((uint64_t)c->writer_area + sizeof *s, HUGE_PAGE);
	for (uint32_t k = 0; k < c->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_DATA)
			s->total += c->extents[k].len;
	int large = s->total > SMALL_STREAM;
	if (large && s->direct && sys_io_setup(RING_SLOTS, &s->aio) < 0)
		s->aio = 0;
	s->slot_size = large ? RING_SLOT : SMALL_SLOT;
	s->nslots = (uint32_t)((s->total + s->slot_size - 1) / s->slot_size);
	sys_madvise(s->ring, RING_SLOTS * RING_SLOT, large ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	long err = 0;
	for (uint32_t n = 0; n < s->nslots && !err; n++) {
		while (s->busy[n % RING_SLOTS] && !err)
			err = reap(s);
		if (!err)
			err = fill(s, n);
		if (!err)
			err = write_slot(s, n);
	}
	while (s->inflight) { /* always: the ring is scratch, which goes when we return */
		long e = reap(s);
		if (e && !err)
			err = e;
	}
	*direct = s->direct;
	return err;
}

/* The extents, O_DIRECT while the filesystem takes it, then fd as it was. */
long write_data_stream(struct capture *c, int fd)
{
	int direct = set_direct_io(fd, 1) == 0;
	long err = write_extents(c, fd, &direct);
	if (direct && set_direct_io(fd, 0) && !err)
		err = -EIO;
	return err;
}

void destroy_stream_aio(const struct capture *c)
{
	const struct stream *s = (const struct stream *)c->writer_area;
	if (s->aio)
		sys_io_destroy(s->aio);
}
