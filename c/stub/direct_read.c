/*
 * Which descriptor an extent's bytes are read through: the image's own or
 * its link's (through the page cache), or a second one opened O_DIRECT,
 * past the page cache, when the image's data is not in it: after a
 * checkpoint (ckpt writes images with O_DIRECT), a reboot, or on another
 * node.
 *
 * Why: through the page cache, every byte is read into a page-cache page
 * and then copied into the program's memory. In this VM that copy was
 * 41-50 % of a cold restart's samples, and a test reading 1 GiB into
 * fresh memory with two threads used 4.5-5.5 s of CPU through the cache
 * against 2.0 s with O_DIRECT, the device writing into the pages
 * themselves (docs/performance.md, "Restart reads past the page cache").
 * An image mostly in the page cache (someone read it) is read through it,
 * as before: a copy from memory is cheaper than the device on most
 * machines.
 *
 * What makes it safe: the loaders' reads of bytes stored as they are (an
 * extent whole, a batch's stretches) are page-aligned in the file (the
 * format puts data at page offsets), in memory and in length, which is
 * all O_DIRECT asks of devices with blocks up to a page. Anything else
 * (compressed blocks, raw parts of an older image's blocks, pipe and file
 * bytes, /proc/self/mem) goes through the image's own descriptors. A file
 * system that refuses O_DIRECT at open leaves that image on the cache; one
 * that refuses a read (EINVAL) turns it off for every later read, and the
 * read is made again through the cache.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "stub.h"
#include "../str.h"
#include "../sys.h"

#define NR_CACHESTAT 451 /* Linux 6.5; older kernels say ENOSYS: not cached */
struct cachestat_range { uint64_t off, len; };
struct cachestat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

static int direct_refused; /* a file system refused a direct read: never again */

static int mostly_cached(int fd, uint64_t from)
{
	struct stat st;
	if (sys_fstat(fd, &st) < 0 || (uint64_t)st.st_size <= from)
		return 1; /* nothing worth a second descriptor */
	struct cachestat_range r = {from, (uint64_t)st.st_size - from};
	struct cachestat cs;
	if (SYS4(NR_CACHESTAT, fd, &r, &cs, 0) < 0)
		return 0;
	return cs.nr_cache * CKPT_PAGE_SIZE * 2 > r.len;
}

/* A second open file of the same inode (through /proc/self/fd, not the
 * name, which may have been replaced since), O_DIRECT, placed high; or 0. */
static int reopen_direct(int fd, uint64_t data_offset)
{
	if (mostly_cached(fd, data_offset))
		return 0;
	struct line path = {.len = 0};
	line_str(&path, "/proc/self/fd/");
	line_u64(&path, (uint64_t)fd);
	long d = sys_openat(AT_FDCWD, path.buf, O_RDONLY | O_DIRECT | O_CLOEXEC, 0);
	return d < 0 ? 0 : to_high_or_close(d);
}

/* Where an older image's data starts, from its header (checked by
 * chain.c on this descriptor); past the header if unreadable. Its tables
 * come before: the chain check has just read them into the page cache,
 * and in a small image they would make the file look cached. */
static uint64_t link_data_offset(int fd)
{
	uint64_t at;
	if (sys_pread_full(fd, &at, sizeof at, (long)__builtin_offsetof(struct ckpt_header, data_offset)) < 0)
		return CKPT_HEADER_SIZE;
	return at;
}

void open_direct_reads(const struct ckpt_header *h)
{
	restart.direct_fd[0] = reopen_direct(restart.image_fd, h->data_offset);
	for (uint32_t i = 0; i < h->nlinks; i++)
		restart.direct_fd[1 + i] = reopen_direct(restart.link_fd[i], link_data_offset(restart.link_fd[i]));
}

void close_direct_reads(void)
{
	for (uint32_t i = 0; i < 1 + CKPT_LINKS_MAX; i++)
		if (restart.direct_fd[i] > 0)
			sys_close(restart.direct_fd[i]);
}

/* Through the page cache: the image's own, or the older image a PARENT
 * extent names. */
int extent_fd(const struct ckpt_extent *e)
{
	return e->kind == CKPT_EXTENT_PARENT ? restart.link_fd[e->link] : restart.image_fd;
}

/* The descriptor to read e's file through: past the cache when it may and
 * the read is whole pages (`bits`: the read's addresses, lengths and
 * offsets or'ed together), else through the cache. */
int loader_fd(const struct ckpt_extent *e, uint64_t bits)
{
	int direct = restart.direct_fd[e->kind == CKPT_EXTENT_PARENT ? 1 + e->link : 0];
	if (!direct || (bits & (CKPT_PAGE_SIZE - 1)) || __atomic_load_n(&direct_refused, __ATOMIC_RELAXED))
		return extent_fd(e);
	return direct;
}

/* After a failed read through `fd`: the descriptor to make it again through
 * when the file system refused a direct read (EINVAL; no direct read is
 * tried again), or -1 when the failure is the read's own. */
int retry_through_cache(const struct ckpt_extent *e, int fd, long err)
{
	if (err != -22 /* EINVAL */ || fd == extent_fd(e))
		return -1;
	__atomic_store_n(&direct_refused, 1, __ATOMIC_RELAXED);
	return extent_fd(e);
}
