#define _GNU_SOURCE
/*
 * Descriptors, restored in phase 1 so a missing file is a clean error. Each
 * is opened at a high number first and then dup3'ed to its place, so the
 * order of the table never matters; everything the restart command passed
 * in beyond fds 0-2 is closed, as the program never had it.
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

void place(int from, const struct ckpt_fd *f)
{
	long err = sys_dup3(from, f->fd, (f->fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
	if (err < 0)
		die("cannot place a restored descriptor", err);
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
	sys_close_range(3, (unsigned)hi - 1);
	sys_close_range((unsigned)hi + 1, ~0u);
	/* Our own messages keep going to the restart's stderr even after the
	 * program's fd 2 is put in place (it may be a file of the program's). */
	long err = sys_fcntl(2, F_DUPFD_CLOEXEC, hi + 1);
	g.err_fd = err >= 0 ? (int)err : -1;
	high_base = (int)(err >= 0 ? err : hi) + 1;
	return (int)hi;
}

/* A /proc or /sys file (CKPT_FD_PROC) goes the same way: its saved offset
 * is set again, against contents the kernel makes up afresh, as a read
 * there would have continued against fresh contents anyway. */
static void restore_file(const struct ckpt_fd *f, const char *path)
{
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	int fd = to_high(sys_openat(AT_FDCWD, path, flags, 0), "cannot reopen", path);
	if (f->offset && sys_lseek(fd, (long)f->offset, SEEK_SET) < 0)
		die_path("cannot seek in", path, 0);
	place(fd, f);
	sys_close(fd);
}

/* The program's controlling terminal beyond fds 0-2: this restart's own
 * (its modes are set in phase 2, with those of 0-2, once nothing can fail
 * that would leave the shell's terminal changed). */
static void restore_tty(const struct ckpt_fd *f, const char *path)
{
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	long fd = sys_openat(AT_FDCWD, "/dev/tty", flags, 0);
	if (fd < 0) {
		struct line l = {.len = 0};
		line_str(&l, "fd ");
		line_u64(&l, (uint64_t)f->fd);
		line_str(&l, " was the program's terminal (");
		line_str(&l, path);
		line_str(&l, ") and this restart has no controlling terminal to give it; run ckpt restart in a terminal");
		die_line(&l);
	}
	int hi = to_high(fd, "cannot reopen", "/dev/tty");
	place(hi, f);
	sys_close(hi);
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

/* O_NONBLOCK and O_APPEND are the status flags F_SETFL can set here
 * (O_DIRECT goes with pipe2, O_ASYNC is refused at checkpoint). fds 0-2
 * come from whoever runs the restart, but the program chose their flags:
 * the CLI cleared O_NONBLOCK before the launch, so one set at checkpoint
 * was the program's own doing, and it relies on it (a read loop that
 * expects EAGAIN would block forever without it). */
void set_status_flags(const struct ckpt_fd *f)
{
	/* An inherited fd may be the restart's `>> log`: its O_APPEND is not ours to clear. */
	const unsigned settable = f->kind == CKPT_FD_INHERIT ? O_NONBLOCK : O_NONBLOCK | O_APPEND;
	long now = sys_fcntl(f->fd, F_GETFL, 0);
	if (now < 0)
		return; /* an inherited fd the restart did not pass: nothing to set */
	unsigned want = ((unsigned)now & ~settable) | (f->open_flags & settable);
	long err = want != (unsigned)now ? sys_fcntl(f->fd, F_SETFL, want) : 0;
	if (err < 0)
		die("cannot set a descriptor's status flags", err);
}

/* pipe_id is an inode number: a FIFO's may equal a pipe's. */
static int same_pipe(const struct ckpt_fd *a, const struct ckpt_fd *f)
{
	return a->pipe_id == f->pipe_id && (a->kind == CKPT_FD_PIPE_READ || a->kind == CKPT_FD_PIPE_WRITE);
}

/* A pipe whose both ends the program held: one new pipe per pipe_id, its
 * unread bytes written back, each end dup'ed to every fd that had it. */
static void restore_pipe(const struct ckpt_fd *fds, uint32_t n, uint32_t first, int image_fd)
{
	const struct ckpt_fd *f = &fds[first];
	int p[2];
	/* Packet mode (O_DIRECT) can only be chosen at creation, and it is the
	 * write end's: F_SETFL refuses it on pipes. */
	unsigned direct = 0;
	for (uint32_t i = first; i < n; i++)
		if (same_pipe(&fds[i], f) && fds[i].kind == CKPT_FD_PIPE_WRITE)
			direct |= fds[i].open_flags & O_DIRECT;
	/* Non-blocking while refilled: a pipe the kernel would not make as large
	 * as the saved one fails the restart instead of hanging it; each end
	 * gets the program's own flags once placed. */
	long err = sys_pipe2(p, O_CLOEXEC | O_NONBLOCK | (int)direct);
	if (err < 0)
		die("cannot create a pipe", err);
	int rd = to_high(p[0], "cannot create a pipe", 0), wr = to_high(p[1], "cannot create a pipe", 0);
	if (f->size)
		sys_fcntl(wr, F_SETPIPE_SZ, (long)f->size);
	for (uint32_t i = first; i < n; i++)
		if (same_pipe(&fds[i], f) && fds[i].pipe_len)
			refill_from_image(image_fd, fds[i].pipe_data_offset, fds[i].pipe_len, fds[i].pipe_crc, wr, 0, "pipe");
	for (uint32_t i = first; i < n; i++)
		if (same_pipe(&fds[i], f)) {
			place(fds[i].kind == CKPT_FD_PIPE_READ ? rd : wr, &fds[i]);
			set_status_flags(&fds[i]);
		}
	sys_close(rd);
	sys_close(wr);
}

static int fifo_seen(const struct ckpt_fd *fds, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++)
		if (fds[j].kind == CKPT_FD_FIFO && fds[j].pipe_id == fds[i].pipe_id)
			return 1;
	return 0;
}

static int pipe_seen(const struct ckpt_fd *fds, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++)
		if ((fds[j].kind == CKPT_FD_PIPE_READ || fds[j].kind == CKPT_FD_PIPE_WRITE) && fds[j].pipe_id == fds[i].pipe_id)
			return 1;
	return 0;
}

void restore_fds(const struct ckpt_fd *fds, uint32_t n, const char *strings, int image_fd)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_fd *f = &fds[i];
		if (f->shares_with)
			place(f->shares_with - 1, f); /* one open file, as `2>&1` made it */
		else if (f->kind == CKPT_FD_FILE || f->kind == CKPT_FD_PROC)
			restore_file(f, string_at(strings, f->path_str));
		else if (f->kind == CKPT_FD_TTY)
			restore_tty(f, string_at(strings, f->path_str));
		else if (f->kind == CKPT_FD_DELETED || f->kind == CKPT_FD_MEMFD)
			restore_unlinked(f, string_at(strings, f->path_str), image_fd);
		else if (f->kind == CKPT_FD_FIFO && !fifo_seen(fds, i))
			restore_fifo(fds, n, i, string_at(strings, f->path_str), image_fd);
		else if (f->kind == CKPT_FD_INHERIT)
			set_status_flags(f);
		else if ((f->kind == CKPT_FD_PIPE_READ || f->kind == CKPT_FD_PIPE_WRITE) && !pipe_seen(fds, i))
			restore_pipe(fds, n, i, image_fd);
	}
}
