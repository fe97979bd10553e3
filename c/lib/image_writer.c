/*
 * Writing the image: durably, atomically, privately.
 *
 * The file is created unnamed in the image's directory (image_file.c).
 * Data goes to the device with O_DIRECT and AIO through a small staging
 * ring, each slot filled and checksummed while earlier ones are written
 * (data_stream.c), or compressed on every core (compressed_stream.c,
 * --compress). Then the bytes kept in scratch, tables and header,
 * fsync, and the file takes its name (image_file.c).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <errno.h>
#include "ckpt_lib.h"
#include "../crc32c.h"
#include "../sys.h"

/* A write error may come with SIGXFSZ (file size limit) queued for us. */
static int write_fail(struct capture *c, long err)
{
	if (err == -EFBIG)
		consume_own_signal(SIGXFSZ);
	return capture_fail_path(c, "cannot write the image ", ckpt_config.image_path, err ? err : -EIO);
}

/* Lays out the file: header, tables, then each DATA extent and pipe buffer
 * on its own page boundary, in table order. */
static void layout(struct capture *c)
{
	struct ckpt_header *h = c->hdr;
	uint64_t at = 0;
	h->threads_off = at, at = align_up(at + c->nthreads * sizeof(struct ckpt_thread), 8);
	h->regions_off = at, at = align_up(at + c->nregions * sizeof(struct ckpt_region), 8);
	h->extents_off = at, at = align_up(at + c->nextents * sizeof(struct ckpt_extent), 8);
	h->fds_off = at, at = align_up(at + c->nfds * sizeof(struct ckpt_fd), 8);
	h->strings_off = at, at = align_up(at + c->strings_size, 8);
	h->process.timers_off = (uint32_t)at, at = align_up(at + c->ntimers * sizeof(struct ckpt_timer), 8);
	h->locks_off = at, at = align_up(at + c->nlocks * sizeof(struct ckpt_lock), 8);
	h->process.signals_off = (uint32_t)at, at = align_up(at + c->nsignals * sizeof(struct ckpt_signal), 8);
	h->watches_off = (uint32_t)at, at = align_up(at + c->nwatches * sizeof(struct ckpt_epoll_watch), 8);
	h->inotify_off = (uint32_t)at, at = align_up(at + c->ninotify * sizeof(struct ckpt_inotify_watch), 8);
	h->members_off = (uint32_t)at, at = align_up(at + h->nmembers * sizeof(struct ckpt_member), 8);
	h->tables_offset = CKPT_HEADER_SIZE;
	h->data_offset = align_up(CKPT_HEADER_SIZE + at, CKPT_PAGE_SIZE);
	h->tables_size = h->data_offset - h->tables_offset; /* with its zero padding */
	uint64_t data = h->data_offset;
	for (uint32_t i = 0; i < c->nextents; i++)
		if (c->extents[i].kind == CKPT_EXTENT_DATA)
			c->extents[i].data_offset = data, c->extents[i].stored_len = c->extents[i].len,
			data += c->extents[i].len; /* compressed: its bytes at most; compressed_stream.c places them */
	for (uint32_t i = 0; i < c->nfds; i++) {
		if (c->fds[i].pipe_len)
			c->fds[i].pipe_data_offset += data;
		if (c->fds[i].content_len)
			c->fds[i].content_offset += data;
	}
	h->file_size = data + c->pipe_data_size;
}

/* Regions holding a thread's resume point are marked (for `ckpt info`). */
static void mark_thread_stacks(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		struct ckpt_region *r = &c->regions[i];
		for (uint32_t t = 0; t < c->nthreads; t++)
			if (c->threads[t].resume.rsp > r->start && c->threads[t].resume.rsp <= r->end)
				r->flags |= CKPT_REGION_THREAD_STACK;
	}
}

/* Bytes kept in scratch (pipe contents, deleted files, memfds), written
 * through the page cache after the extents, each with its checksum. */
static long write_stored(struct capture *c, int fd, uint64_t at, uint64_t len, uint32_t *crc)
{
	if (!len)
		return 0;
	const char *bytes = c->pipe_data + (at - (c->hdr->file_size - c->pipe_data_size));
	*crc = crc32c_update(0, bytes, len);
	for (uint64_t done = 0; done < len;) {
		long n = sys_pwrite(fd, bytes + done, len - done, (long)(at + done));
		if (n <= 0)
			return n < 0 ? n : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}
/* A compressed image's data ends where its last block does: what follows
 * moves up to the next page, and the file is cut there. */
static long write_compressed(struct capture *c, int fd)
{
	uint64_t end, sized_end = c->hdr->file_size - c->pipe_data_size;
	long err = write_compressed_stream(c, fd, &end);
	if (err)
		return err;
	uint64_t shift = sized_end - align_up(end, CKPT_PAGE_SIZE);
	for (uint32_t i = 0; i < c->nfds; i++) {
		if (c->fds[i].pipe_len)
			c->fds[i].pipe_data_offset -= shift;
		if (c->fds[i].content_len)
			c->fds[i].content_offset -= shift;
	}
	c->hdr->file_size -= shift;
	return sys_ftruncate(fd, (long)c->hdr->file_size);
}

static long write_data(struct capture *c, int fd)
{
	mark_thread_stacks(c);
	/* The whole size first: every write below lands inside the file. */
	long err = sys_ftruncate(fd, (long)c->hdr->file_size);
	if (err)
		return err;
	err = c->hdr->codec ? write_compressed(c, fd) : write_data_stream(c, fd);
	if (err)
		return err;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *f = &c->fds[i];
		long err = write_stored(c, fd, f->pipe_data_offset, f->pipe_len, &f->pipe_crc);
		if (!err)
			err = write_stored(c, fd, f->content_offset, f->content_len, &f->content_crc);
		if (err)
			return err;
	}
	return 0;
}

static long write_tables(struct capture *c, int fd)
{
	struct ckpt_header *h = c->hdr;
	struct { const void *p; uint64_t off, len; } parts[] = {
		{c->threads, h->threads_off, c->nthreads * sizeof(struct ckpt_thread)},
		{c->regions, h->regions_off, c->nregions * sizeof(struct ckpt_region)},
		{c->extents, h->extents_off, c->nextents * sizeof(struct ckpt_extent)},
		{c->fds, h->fds_off, c->nfds * sizeof(struct ckpt_fd)},
		{c->strings, h->strings_off, c->strings_size},
		{c->timers, h->process.timers_off, c->ntimers * sizeof(struct ckpt_timer)},
		{c->locks, h->locks_off, c->nlocks * sizeof(struct ckpt_lock)},
		{c->signals, h->process.signals_off, c->nsignals * sizeof(struct ckpt_signal)},
		{c->watches, h->watches_off, c->nwatches * sizeof(struct ckpt_epoll_watch)},
		{c->inotify, h->inotify_off, c->ninotify * sizeof(struct ckpt_inotify_watch)},
		{c->members, h->members_off, h->nmembers * sizeof(struct ckpt_member)},
	};
	static const char zeros[CKPT_PAGE_SIZE]; /* alignment and page padding */
	uint32_t crc = 0;
	uint64_t at = 0;
	for (unsigned i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		/* alignment padding is part of the checksummed bytes */
		crc = crc32c_update(crc, zeros, parts[i].off - at);
		crc = crc32c_update(crc, parts[i].p, parts[i].len);
		long n = sys_pwrite(fd, parts[i].p, parts[i].len, (long)(h->tables_offset + parts[i].off));
		if (n != (long)parts[i].len)
			return n < 0 ? n : -EIO;
		at = parts[i].off + parts[i].len;
	}
	crc = crc32c_update(crc, zeros, h->tables_size - at);
	h->tables_crc = crc;
	return 0;
}

static long write_header(struct capture *c, int fd)
{
	struct ckpt_header *h = c->hdr;
	__builtin_memcpy(h->magic, CKPT_MAGIC, 8);
	h->version = CKPT_VERSION;
	h->header_size = sizeof *h;
	h->arch = CKPT_ARCH_X86_64;
	h->page_size = CKPT_PAGE_SIZE;
	h->nthreads = c->nthreads, h->nregions = c->nregions, h->nextents = c->nextents;
	h->nfds = c->nfds, h->strings_size = c->strings_size, h->nlocks = c->nlocks;
	h->process.nsignals = c->nsignals;
	h->nwatches = c->nwatches;
	h->ninotify = c->ninotify;
	struct { int64_t sec, nsec; } now;
	sys_clock_gettime(0 /* CLOCK_REALTIME */, &now);
	h->capture_ns = (uint64_t)(now.sec * 1000000000 + now.nsec) - h->created_ns;
	/* The whole page, padding included: scratch gave it to us zeroed. */
	h->header_crc = 0;
	h->header_crc = crc32c_update(0, h, CKPT_HEADER_SIZE);
	long n = sys_pwrite(fd, h, CKPT_HEADER_SIZE, 0);
	return n == CKPT_HEADER_SIZE ? 0 : n < 0 ? n : -EIO;
}

int image_write(struct capture *c, uint64_t *size, int then_exit)
{
	struct image_target t = {0};
	if (image_target_open(c, &t))
		return -1;
	if (resolve_incremental(c)) {
		image_target_abandon(&t);
		return -1;
	}
	store_zero_pages_as_holes(c);
	layout(c);
	long err = write_data(c, (int)t.fd);
	if (!err)
		err = write_tables(c, (int)t.fd);
	if (!err)
		err = write_header(c, (int)t.fd);
	if (!err)
		err = sys_fsync((int)t.fd);
	int rc = -1;
	if (err) {
		if (!c->error.len) /* a read failure has said why already */
			write_fail(c, err);
		image_target_abandon(&t);
	} else {
		rc = image_target_commit(c, &t);
		sys_close((int)t.fd);
		sys_close((int)t.dir_fd);
		*size = c->hdr->file_size;
	}
	/* io_destroy waits for an RCU grace period, tens of milliseconds here:
	 * a process about to exit leaves that to exit_group, after the image
	 * is durable and reported. */
	if (rc || !then_exit)
		destroy_stream_aio(c);
	return rc;
}
