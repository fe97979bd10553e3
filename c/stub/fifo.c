#define _GNU_SOURCE
/*
 * A named FIFO whose both ends the program held, reopened by path. The
 * read side is opened first, non-blocking, so neither open waits for the
 * other; a FIFO that already holds bytes (another process has it open and
 * wrote) would mix them with the program's, and refuses the restart. The
 * unread bytes go back through the write side, then each fd is opened with
 * its own access mode and flags (O_DIRECT included: packet mode is chosen
 * at open).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "stub.h"
#include "../sys.h"

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

void restore_fifo(const struct ckpt_fd *fds, uint32_t n, uint32_t first, const char *path, int image_fd)
{
	const struct ckpt_fd *f = &fds[first];
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
