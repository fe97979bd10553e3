#define _GNU_SOURCE
/*
 * A deleted file or a memfd, recreated from the bytes stored with the image:
 * unlinked again or a memfd of the same name; same permission bits, size
 * and contents, then the memfd's seals (last: a write seal would stop the
 * refill). The deleted file is made with O_TMPFILE in the directory it was
 * deleted from (the checkpoint found it able to hold one), filled, linked
 * under its old name and unlinked at once: /proc/PID/fd shows the same
 * "NAME (deleted)" as before, where an O_TMPFILE file alone shows
 * "#INODE". A file that has the name by now refuses the restart. Then it
 * is opened again through /proc/self/fd with the program's own access
 * mode and flags, since O_TMPFILE insists on write access.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "stub.h"
#include "../sys.h"

#define MFD_CLOEXEC 1u
#define MFD_ALLOW_SEALING 2u

static int tmpfile_in_dir_of(const char *path, unsigned mode)
{
	char dir[CKPT_PATH_MAX];
	size_t n = str_copy(dir, sizeof dir, path);
	while (n > 1 && dir[n - 1] != '/')
		n--;
	dir[n > 1 ? n - 1 : 1] = 0;
	long fd = sys_openat(AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0)
		die_path("cannot recreate the deleted file, in", dir, fd);
	return (int)fd;
}

/* The O_TMPFILE file linked under `name`, opened there with the program's
 * flags (an open through /proc/self/fd would keep the "#INODE" name), and
 * unlinked again. */
static int name_then_unlink(int tmp, const struct ckpt_fd *f, const char *name)
{
	struct line self = {.len = 0};
	line_str(&self, "/proc/self/fd/");
	line_u64(&self, (uint64_t)tmp);
	long err = sys_linkat(AT_FDCWD, self.buf, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
	if (err == -17 /* EEXIST */) {
		struct line why = {.len = 0};
		line_str(&why, name);
		line_str(&why, " exists now: the deleted file that had this name cannot take it again; move it away");
		die_line(&why);
	}
	if (err < 0)
		die_path("cannot recreate the deleted file", name, err);
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE)) | O_NOFOLLOW | O_CLOEXEC;
	long again = sys_openat(AT_FDCWD, name, flags, 0);
	struct stat a, b;
	int same = again >= 0 && sys_fstat((int)again, &a) == 0 && sys_fstat(tmp, &b) == 0 && a.st_ino == b.st_ino &&
		   a.st_dev == b.st_dev;
	err = sys_unlinkat(AT_FDCWD, name, 0);
	if (!same || err < 0)
		die_path("cannot recreate the deleted file", name, again < 0 ? again : err);
	sys_close(tmp);
	return to_high(again, "cannot recreate the deleted file", name);
}

void restore_unlinked(const struct ckpt_fd *f, const char *name, int image_fd)
{
	int memfd = f->kind == CKPT_FD_MEMFD;
	const char *what = memfd ? "memfd" : "deleted file";
	int fd = memfd ? to_high(sys_memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), "cannot recreate memfd", name)
		       : to_high(tmpfile_in_dir_of(name, f->mode), "cannot recreate the deleted file", name);
	long err = sys_fchmod(fd, f->mode);
	if (err >= 0)
		err = sys_ftruncate(fd, (long)f->content_len);
	if (err < 0)
		die_path("cannot recreate", name, err);
	refill_from_image(image_fd, f->content_offset, f->content_len, f->content_crc, fd, 1, what);
	if (memfd && f->seals && (err = sys_fcntl(fd, F_ADD_SEALS, f->seals)) < 0)
		die_path("cannot seal the recreated memfd", name, err);
	if (!memfd)
		fd = name_then_unlink(fd, f, name);
	if (f->offset && (err = sys_lseek(fd, (long)f->offset, SEEK_SET)) < 0)
		die_path("cannot seek in", name, err);
	place(fd, f);
	set_status_flags(f);
	sys_close(fd);
}
