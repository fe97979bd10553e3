#define _GNU_SOURCE
/*
 * CKPT_FD_FILE: a regular file, directory or device (not a terminal),
 * reopened at restart by the path /proc/self/fd shows, at its offset. The
 * checkpoint refuses a path that no longer leads to the open file (a
 * directory deleted under it, a mount shadowing it: the restart would
 * fail, or worse, reopen another file) or that the program may no longer
 * open as it did (its mode changed since). The restart refuses a file gone
 * or shrunk below the saved offset before anything is torn down.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#include "../sys.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif

const char *fd_file_record_problem(const struct ckpt_fd *f)
{
	return f->path_str ? fd_stores_nothing(f) : FD_RECORD_INVALID;
}

#ifdef CKPT_LIB
int fd_file_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st)
{
	long off = sys_lseek(fd, 0, SEEK_CUR);
	r->offset = off > 0 ? (uint64_t)off : 0;
	r->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	r->path_str = capture_string(c, target, str_len(target));
	return 1;
}

int path_leads_to(const char *path, const struct stat *want)
{
	struct stat st;
	return sys_fstatat(AT_FDCWD, path, &st, 0) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* The rights open() needs for the fd's access mode, for faccessat. */
static int access_mode(uint32_t open_flags)
{
	uint32_t acc = open_flags & O_ACCMODE;
	return acc == O_WRONLY ? 2 /* W_OK */ : acc == O_RDWR ? 6 /* R_OK | W_OK */ : 4 /* R_OK */;
}

static int fd_refusal(struct capture *c, const struct ckpt_fd *r, const char *path, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, " (");
	line_str(&c->error, path);
	line_str(&c->error, "): ");
	line_str(&c->error, why);
	return -1;
}

int fd_path_audit(struct capture *c, const struct ckpt_fd *r)
{
	const char *path = c->strings + r->path_str;
	struct stat st;
	if (sys_fstat(r->fd, &st) < 0)
		return 0;
	if (!path_leads_to(path, &st))
		return fd_refusal(c, r, path, "that path no longer leads to the open file (shadowed by a mount, or out "
					      "of reach), so a restart could not reopen it");
	/* With the effective ids, as open() checks them. */
	long err = sys_faccessat2(AT_FDCWD, path, access_mode(r->open_flags), AT_EACCESS);
	if (err == -13 /* EACCES */ || err == -1 /* EPERM */ || err == -30 /* EROFS */)
		return fd_refusal(c, r, path, (r->open_flags & O_ACCMODE) == O_RDONLY
						      ? "the program may no longer open it for reading, so a restart could not reopen it"
						      : "the program may no longer open it for writing, so a restart could not reopen it");
	return 0;
}
#endif

#ifdef CKPT_STUB
void fd_file_check_world(const struct ckpt_fd *f, const char *path)
{
	struct stat st;
	struct line why = {.len = 0};
	line_str(&why, "fd ");
	line_u64(&why, (uint64_t)f->fd);
	line_str(&why, ": ");
	line_str(&why, path);
	if (sys_fstatat(AT_FDCWD, path, &st, 0) < 0) {
		line_str(&why, " no longer exists");
	} else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < f->offset && (uint64_t)st.st_size < f->size) {
		/* Shorter than the offset only counts if it shrank: a program may
		 * seek past the end, and the checkpoint saw that size too. */
		line_str(&why, " is now ");
		line_u64(&why, (uint64_t)st.st_size);
		line_str(&why, " bytes, shorter than the saved offset ");
		line_u64(&why, f->offset);
	} else {
		return;
	}
	die_line(&why);
}

/* A /proc or /sys file (CKPT_FD_PROC) goes the same way: its saved offset
 * is set again, against contents the kernel makes up afresh, as a read
 * there would have continued against fresh contents anyway. */
int fd_file_reopen(const struct ckpt_fd *f, const char *path)
{
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	int fd = to_high(sys_openat(AT_FDCWD, path, flags, 0), "cannot reopen", path);
	if (f->offset && sys_lseek(fd, (long)f->offset, SEEK_SET) < 0)
		die_path("cannot seek in", path, 0);
	return fd;
}

void fd_file_restore(const struct ckpt_fd *f, const char *path)
{
	int fd = fd_file_reopen(f, path);
	place(fd, f);
	sys_close(fd);
}
#endif
