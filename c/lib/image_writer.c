/*
 * Writing the image: durably, atomically, privately.
 *
 * The file is created unnamed (O_TMPFILE, mode 0600) in the image's
 * directory, so a crash or SIGKILL mid-write leaves nothing behind. Data goes
 * straight from the program's memory into the page cache with writev (one
 * copy, no staging buffer), each extent checksummed as it is queued. Then
 * tables and header, fsync, a link under a fixed temporary name and a rename
 * over the final name: readers see the old image or the new one, never a
 * part. Filesystems without O_TMPFILE get a named temporary file instead;
 * its fixed name means a crash leaves at most one, replaced next time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <errno.h>
#include "ckpt_lib.h"
#include "../crc32c.h"
#include "../sys.h"

#define IOV_BATCH 256

struct target {
	char dir[CKPT_PATH_MAX];
	char tmp_name[300];
	const char *name;
	long dir_fd;
	long fd;
	int named_tmp; /* the O_TMPFILE fallback is in use */
};

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static int fail(struct capture *c, const char *what, const char *path, long err)
{
	c->error.len = 0;
	line_str(&c->error, what);
	line_str(&c->error, path);
	line_str(&c->error, ": ");
	line_str(&c->error, errno_text(err));
	return -1;
}

static int open_target(struct capture *c, struct target *t)
{
	const char *path = ckpt_config.image_path;
	size_t n = str_len(path), slash = 0;
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			slash = i;
	str_copy(t->dir, slash + 1 < sizeof t->dir ? slash + 1 : sizeof t->dir, path);
	if (slash == 0)
		str_copy(t->dir, sizeof t->dir, "/");
	t->name = path + slash + 1;
	struct line tmp = {.len = 0};
	line_str(&tmp, ".");
	line_str(&tmp, t->name);
	line_str(&tmp, ".ckpt-tmp");
	str_copy(t->tmp_name, sizeof t->tmp_name, tmp.buf);
	t->dir_fd = sys_openat(AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (t->dir_fd < 0)
		return fail(c, "cannot open the image directory ", t->dir, t->dir_fd);
	t->fd = sys_openat((int)t->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (t->fd == -EISDIR || t->fd == -EOPNOTSUPP || t->fd == -EINVAL) {
		t->named_tmp = 1;
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		t->fd = sys_openat((int)t->dir_fd, t->tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (t->fd < 0) {
		sys_close((int)t->dir_fd);
		return fail(c, "cannot create the image in ", t->dir, t->fd);
	}
	return 0;
}

static void abandon(struct target *t)
{
	sys_close((int)t->fd);
	if (t->named_tmp)
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
	sys_close((int)t->dir_fd);
}

/* A write error may come with SIGXFSZ (file size limit) queued for us. */
static int write_fail(struct capture *c, long err)
{
	if (err == -EFBIG)
		consume_own_signal(SIGXFSZ);
	return fail(c, "cannot write the image ", ckpt_config.image_path, err ? err : -EIO);
}

/* writev, finishing short writes. */
static long write_iov(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		long n = sys_writev(fd, iov, cnt > 1024 ? 1024 : cnt);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		while (cnt > 0 && (uint64_t)n >= iov->iov_len)
			n -= (long)iov->iov_len, iov++, cnt--;
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
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
	h->tables_offset = CKPT_HEADER_SIZE;
	h->data_offset = align_up(CKPT_HEADER_SIZE + at, CKPT_PAGE_SIZE);
	h->tables_size = h->data_offset - h->tables_offset; /* with its zero padding */
	uint64_t data = h->data_offset;
	for (uint32_t i = 0; i < c->nextents; i++)
		if (c->extents[i].kind == CKPT_EXTENT_DATA)
			c->extents[i].data_offset = data, data += c->extents[i].len;
	for (uint32_t i = 0; i < c->nfds; i++)
		if (c->fds[i].pipe_len)
			c->fds[i].pipe_data_offset += data;
	h->file_size = data + c->pipe_data_size;
}

/* Stacks change while the image is written: the writer's own (its locals,
 * the iovec array) and those of the stopped threads on their way to sleep.
 * Regions holding a thread's resume point are marked, and their extents are
 * copied first and written from the copy, so each checksum matches what
 * lands on disk. Those changes are all below the resume points, dead after
 * a restart. Every other page is still: the program is stopped. */
static void mark_thread_stacks(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		struct ckpt_region *r = &c->regions[i];
		for (uint32_t t = 0; t < c->nthreads; t++)
			if (c->threads[t].resume.rsp > r->start && c->threads[t].resume.rsp <= r->end)
				r->flags |= CKPT_REGION_THREAD_STACK;
	}
}

/* Data goes out in batches of about CHUNK bytes, each checksummed just
 * before it is written: the kernel then copies bytes still in cache, and
 * memory is read from RAM once, not twice. */
#define CHUNK (2u << 20)

struct batch {
	struct iovec iov[IOV_BATCH];
	int cnt;
	uint64_t bytes;
	int fd;
};

static long queue(struct batch *b, const void *p, uint64_t len)
{
	b->iov[b->cnt++] = (struct iovec){(void *)p, len};
	b->bytes += len;
	if (b->cnt < IOV_BATCH && b->bytes < CHUNK)
		return 0;
	long err = write_iov(b->fd, b->iov, b->cnt);
	b->cnt = 0, b->bytes = 0;
	return err;
}

/* The kernel itself writes a thread's rseq area (its cpu id) whenever the
 * thread is scheduled onto another CPU, even while it sleeps in our
 * handler: pages holding one change under the writer like stacks do. */
static int holds_rseq(const struct capture *c, const struct ckpt_extent *e)
{
	for (uint32_t t = 0; t < c->nthreads; t++)
		if (c->threads[t].rseq_addr >= e->start && c->threads[t].rseq_addr < e->start + e->len)
			return 1;
	return 0;
}

/* Where extent k is written from: its own address, a copy made before a
 * fork, or (pages that change while we write) a copy made now. */
static const void *source(struct capture *c, const struct ckpt_region *r, uint32_t k, uint64_t *bounced)
{
	const struct ckpt_extent *e = &c->extents[k];
	if (c->extent_src[k])
		return (const void *)c->extent_src[k];
	if (!(r->flags & CKPT_REGION_THREAD_STACK) && !holds_rseq(c, e))
		return (const void *)e->start;
	if (*bounced + e->len > c->bounce_cap)
		return 0;
	void *copy = __builtin_memcpy(c->bounce + *bounced, (const void *)e->start, e->len);
	*bounced += e->len;
	return copy;
}

static long write_data(struct capture *c, int fd)
{
	struct batch b = {.fd = fd};
	uint64_t bounced = c->bounce_used;
	mark_thread_stacks(c);
	if (sys_lseek(fd, (long)c->hdr->data_offset, SEEK_SET) < 0)
		return -EIO;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
			struct ckpt_extent *e = &c->extents[k];
			if (e->kind != CKPT_EXTENT_DATA)
				continue;
			const char *from = source(c, r, k, &bounced);
			if (!from)
				return -ENOMEM;
			uint32_t crc = 0;
			for (uint64_t at = 0; at < e->len; at += CHUNK) {
				uint64_t len = e->len - at < CHUNK ? e->len - at : CHUNK;
				crc = crc32c_update(crc, from + at, len);
				long err = queue(&b, from + at, len);
				if (err)
					return err;
			}
			e->crc = crc;
		}
	}
	long err = write_iov(fd, b.iov, b.cnt);
	if (err)
		return err;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *f = &c->fds[i];
		if (!f->pipe_len)
			continue;
		const char *bytes = c->pipe_data + (f->pipe_data_offset - (c->hdr->file_size - c->pipe_data_size));
		f->pipe_crc = crc32c_update(0, bytes, f->pipe_len);
		long n = sys_pwrite(fd, bytes, f->pipe_len, (long)f->pipe_data_offset);
		if (n != (long)f->pipe_len)
			return n < 0 ? n : -EIO;
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
	h->nfds = c->nfds, h->strings_size = c->strings_size;
	struct { int64_t sec, nsec; } now;
	sys_clock_gettime(0 /* CLOCK_REALTIME */, &now);
	h->capture_ns = (uint64_t)(now.sec * 1000000000 + now.nsec) - h->created_ns;
	/* The whole page, padding included: scratch gave it to us zeroed. */
	h->header_crc = 0;
	h->header_crc = crc32c_update(0, h, CKPT_HEADER_SIZE);
	long n = sys_pwrite(fd, h, CKPT_HEADER_SIZE, 0);
	return n == CKPT_HEADER_SIZE ? 0 : n < 0 ? n : -EIO;
}

static int commit(struct capture *c, struct target *t)
{
	long err;
	if (!t->named_tmp) {
		struct line proc = {.len = 0};
		line_str(&proc, "/proc/self/fd/");
		line_u64(&proc, (uint64_t)t->fd);
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		err = sys_linkat(AT_FDCWD, proc.buf, (int)t->dir_fd, t->tmp_name, AT_SYMLINK_FOLLOW);
		if (err < 0)
			return fail(c, "cannot link the image into ", t->dir, err);
	}
	err = sys_renameat((int)t->dir_fd, t->tmp_name, (int)t->dir_fd, t->name);
	if (err < 0) {
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		return fail(c, "cannot rename the image to ", ckpt_config.image_path, err);
	}
	sys_fsync((int)t->dir_fd); /* the new name is durable too */
	return 0;
}

int image_write(struct capture *c, uint64_t *size)
{
	struct target t = {0};
	if (open_target(c, &t))
		return -1;
	layout(c);
	long err = write_data(c, (int)t.fd);
	if (!err)
		err = write_tables(c, (int)t.fd);
	if (!err)
		err = write_header(c, (int)t.fd);
	if (!err)
		err = sys_ftruncate((int)t.fd, (long)c->hdr->file_size);
	if (!err)
		err = sys_fsync((int)t.fd);
	if (err) {
		write_fail(c, err);
		abandon(&t);
		return -1;
	}
	int rc = commit(c, &t);
	sys_close((int)t.fd);
	sys_close((int)t.dir_fd);
	*size = c->hdr->file_size;
	return rc;
}
