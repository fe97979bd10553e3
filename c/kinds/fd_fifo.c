#define _GNU_SOURCE
/*
 * CKPT_FD_FIFO: a named FIFO, kept under the pipe rules (fd_pipe.c's
 * resolve_pipes): only when the program holds both ends (an O_RDWR fd
 * holds both), its unread bytes copied with tee(). The checkpoint audits
 * its path as a file's (fd_path_audit in fd_file.c). At restart it is
 * reopened by path: the read side first, non-blocking, so neither open
 * waits for the other; a FIFO that already holds bytes (another process
 * has it open and wrote) would mix them with the program's, and refuses
 * the restart. The unread bytes go back through the write side, then each
 * fd is opened with its own access mode and flags (O_DIRECT included:
 * packet mode is chosen at open).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

const char *fd_fifo_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	if (!f->path_str)
		return FD_RECORD_INVALID;
	return f->content_len ? FD_CONTENTS_OUTSIDE : fd_pipe_bytes_problem(f, h);
}

#ifdef CKPT_LIB
int fd_fifo_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st)
{
	/* kept only if we hold both ends: resolve_pipes */
	r->pipe_id = st->st_ino;
	r->size = (uint64_t)sys_fcntl(fd, F_GETPIPE_SZ, 0);
	r->path_str = capture_string(c, target, str_len(target));
	return 1;
}
#endif

#ifdef CKPT_STUB
#define FIONREAD 0x541B

static int open_side(const char *path, int acc)
{
	int fd = to_high(sys_openat(AT_FDCWD, path, acc | O_NONBLOCK | O_CLOEXEC, 0), "cannot reopen the FIFO", path);
	struct stat st;
	if (sys_fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		struct line why = {.len = 0};
		line_str(&why, path);
		line_str(&why, " is no longer a FIFO");
		die_line(&why);
	}
	return fd;
}

static int fifo_seen(const struct ckpt_fd *fds, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++)
		if (fds[j].kind == CKPT_FD_FIFO && fds[j].pipe_id == fds[i].pipe_id)
			return 1;
	return 0;
}

/* Every fd on one FIFO, at the first record of it. */
void fd_fifo_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t first, const char *strings, int image_fd)
{
	if (fifo_seen(fds, first))
		return;
	const struct ckpt_fd *f = &fds[first];
	const char *path = string_at(strings, f->path_str);
	int rd = open_side(path, O_RDONLY), wr = open_side(path, O_WRONLY);
	int queued = 0;
	if (sys_ioctl(rd, FIONREAD, &queued) < 0 || queued) {
		struct line why = {.len = 0};
		line_str(&why, "the FIFO ");
		line_str(&why, path);
		line_str(&why, " already holds bytes another process wrote; restart when no other process has it open");
		die_line(&why);
	}
	if (f->size)
		sys_fcntl(wr, F_SETPIPE_SZ, (long)f->size);
	for (uint32_t i = first; i < n; i++)
		if (fds[i].kind == CKPT_FD_FIFO && fds[i].pipe_id == f->pipe_id && fds[i].pipe_len)
			refill_from_image(image_fd, fds[i].pipe_data_offset, fds[i].pipe_len, fds[i].pipe_crc, wr, 0, "FIFO");
	for (uint32_t i = first; i < n; i++) {
		if (fds[i].kind != CKPT_FD_FIFO || fds[i].pipe_id != f->pipe_id || fds[i].shares_with)
			continue;
		int flags = (int)(fds[i].open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)) | O_NONBLOCK | O_CLOEXEC;
		int fd = to_high(sys_openat(AT_FDCWD, path, flags, 0), "cannot reopen the FIFO", path);
		place(fd, &fds[i]);
		sys_close(fd);
		set_status_flags(&fds[i]);
	}
	sys_close(rd);
	sys_close(wr);
}
#endif
