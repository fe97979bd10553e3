#define _GNU_SOURCE
/*
 * What every kind's restore shares. Each descriptor is opened at a high
 * number first and then dup3'ed to its place, so the order of the table
 * never matters; everything the restart command passed in beyond fds 0-2
 * is closed, as the program never had it.
 */
#include <fcntl.h>
#include "stub.h"
#include "../crc32c.h"
#include "../sys.h"

static int high_base;

int to_high(long fd, const char *what, const char *path)
{
	if (fd < 0)
		die_path(what, path, fd);
	long hi = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, high_base);
	if (hi < 0)
		die_path(what, path, hi);
	sys_close((int)fd);
	return (int)hi;
}

/* to_high for a descriptor the restart can do without: 0 when it cannot be
 * placed (closed), never a refusal. */
int to_high_or_close(long fd)
{
	long hi = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, high_base);
	sys_close((int)fd);
	return hi < 0 ? 0 : (int)hi;
}

void place(int from, const struct ckpt_fd *f)
{
	long err = sys_dup3(from, f->fd, (f->fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
	if (err < 0)
		die("cannot place a restored descriptor", err);
}

/* Closes [from, last] but what a tree parked for its processes ([keep_lo, keep_hi)). */
static void close_range_but_kept(int from, int last)
{
	if (restart.keep_hi <= restart.keep_lo || restart.keep_hi <= from || restart.keep_lo > last) {
		if (from <= last)
			sys_close_range((unsigned)from, (unsigned)last);
		return;
	}
	if (from < restart.keep_lo)
		sys_close_range((unsigned)from, (unsigned)restart.keep_lo - 1);
	if (restart.keep_hi <= last)
		sys_close_range((unsigned)restart.keep_hi, (unsigned)last);
}

/* Every fd from `from` on but `keep` and the kept range. */
static void close_all_from_but(int from, int keep)
{
	close_range_but_kept(from, keep - 1);
	close_range_but_kept(keep + 1, 0x7fffffff);
}

int move_image_fd_high(int fd, const struct ckpt_fd *fds, uint32_t n)
{
	int max = 2;
	for (uint32_t i = 0; i < n; i++)
		if (fds[i].fd > max)
			max = fds[i].fd;
	long hi = sys_fcntl(fd, F_DUPFD_CLOEXEC, max + 1);
	if (hi < 0)
		die("cannot move the image descriptor", hi);
	sys_close(fd);
	close_all_from_but(3, (int)hi);

	/* Our own messages keep going to the restart's stderr even after the
	 * program's fd 2 is put in place (it may be a file of the program's). */
	long err = sys_fcntl(2, F_DUPFD_CLOEXEC, hi + 1);
	restart.err_fd = err >= 0 ? (int)err : -1;
	high_base = (int)(err >= 0 ? err : hi) + 1;
	return (int)hi;
}

/* Stored bytes back into `fd`: a pipe is written in order, a file at its
 * offsets from 0. Checked against their checksum before the program runs;
 * a mismatch ends the restart while nothing is torn down yet. */
void refill_from_image(int image_fd, uint64_t at, uint64_t len, uint32_t crc, int fd, int positional,
		       const char *what)
{
	char buf[65536];
	uint32_t got = 0;
	for (uint64_t done = 0; done < len;) {
		uint64_t k = len - done > sizeof buf ? sizeof buf : len - done;
		if (sys_pread(image_fd, buf, k, (long)(at + done)) != (long)k)
			die_path("cannot read from the image the contents of a", what, 0);
		got = crc32c_update(got, buf, k);
		long w = positional ? sys_pwrite(fd, buf, k, (long)done) : sys_write(fd, buf, k);
		if (w != (long)k)
			die_path("cannot refill a", what, w < 0 ? w : 0);
		done += k;
	}
	if (got != crc)
		die_path("checksum mismatch in the stored contents of a", what, 0);
}

/* Of the status flags, only O_NONBLOCK and O_APPEND are set with the
 * descriptor (O_DIRECT goes with pipe2 or open; O_ASYNC comes last, once
 * its owner and signal are: fd_async.c);
 * `settable` says which of them are the program's to set (fd_inherit.c
 * leaves O_APPEND alone). */
void set_some_status_flags(const struct ckpt_fd *f, unsigned settable)
{
	long now = sys_fcntl(f->fd, F_GETFL, 0);
	if (now < 0)
		return; /* an inherited fd the restart did not pass: nothing to set */
	unsigned want = ((unsigned)now & ~settable) | (f->open_flags & settable);
	long err = want != (unsigned)now ? sys_fcntl(f->fd, F_SETFL, want) : 0;
	if (err < 0)
		die("cannot set a descriptor's status flags", err);
}

void set_status_flags(const struct ckpt_fd *f)
{
	set_some_status_flags(f, O_NONBLOCK | O_APPEND);
}
