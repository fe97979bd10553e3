#define _GNU_SOURCE
/*
 * CKPT_FD_FILE: a regular file, directory or device (not a terminal),
 * reopened at restart by the path /proc/self/fd shows, at its offset; or
 * an O_PATH fd to one of those or to a symbolic link itself (O_NOFOLLOW,
 * kept in its flags), reopened so: rsync and find hold directories so. The
 * checkpoint refuses a path that no longer leads to the open file (a
 * directory deleted under it, a mount shadowing it: the restart would
 * fail, or worse, reopen another file) or that the program may no longer
 * open as it did (its mode changed since). The restart refuses a file gone
 * or shrunk below the saved offset before anything is torn down.
 *
 * A file in a temporary directory (/tmp, /var/tmp, /dev/shm) is a
 * program's scratch, and the program's own later steps often delete it:
 * gcc's driver removes the /tmp/cc*.s that cc1 was writing at the
 * checkpoint once `as` has read it, so a periodic image of a build was
 * refused at restart ("no longer exists") as soon as the build moved on.
 * Such a file, up to TEMP_KEEP_MAX and TEMP_KEEP_ALL in a process, has its
 * bytes and permission bits kept in the image (CKPT_FILE_KEPT), as CRIU
 * keeps a deleted file's, and a restart that finds its path gone makes it
 * again from them (its times are the restart's); one still there is
 * reopened as any file is. Only a file with one name, the user's own, and
 * not a dup or another process's description (those have it through their
 * holder). Kept last, so pipes' bytes have the room first; one that does
 * not fit, or cannot be read, is only not kept: a file like any other.
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

const char *fd_file_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	if (!f->path_str || (f->kind_flags & ~CKPT_FILE_KEPT))
		return FD_RECORD_INVALID;
	if (!(f->kind_flags & CKPT_FILE_KEPT))
		return fd_stores_nothing(f);
	if (f->pipe_len)
		return FD_PIPE_BYTES_OUTSIDE;
	if (f->content_len != f->size || f->shares_with || f->share_pid || f->mode > 07777)
		return FD_RECORD_INVALID;
	return f->content_len && fd_contents_outside(f, h) ? FD_CONTENTS_OUTSIDE : 0;
}

#ifdef CKPT_LIB
#define TEMP_KEEP_MAX (4ull << 20) /* of one file: a compiler's .s, a sort's spill */
#define TEMP_KEEP_ALL (16ull << 20) /* of a process's, copied in the pause */

static int in_temp_dir(const char *path)
{
	return str_starts(path, "/tmp/") || str_starts(path, "/var/tmp/") || str_starts(path, "/dev/shm/");
}

int fd_file_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st)
{
	long off = sys_lseek(fd, 0, SEEK_CUR);
	r->offset = off > 0 ? (uint64_t)off : 0;
	r->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	r->path_str = capture_string(c, target, str_len(target));
	if (S_ISREG(st->st_mode) && !(r->open_flags & O_PATH) && in_temp_dir(target) && st->st_nlink == 1 &&
	    st->st_uid == sys_geteuid() && r->size <= TEMP_KEEP_MAX) /* its bytes: keep_temp_files, once sharing is known */
		r->kind_flags = CKPT_FILE_KEPT, r->content_len = r->size, r->mode = st->st_mode & 07777;
	return 1;
}

static void not_kept(struct ckpt_fd *r)
{
	r->kind_flags = 0, r->content_len = 0, r->content_offset = 0, r->mode = 0;
}

/* Its copied bytes stay in the stored bytes, unused: a line or two. */
void fd_file_recheck_kept(struct ckpt_fd *r)
{
	struct stat st;
	if (r->kind == CKPT_FD_FILE && (r->kind_flags & CKPT_FILE_KEPT) &&
	    (sys_fstat(r->fd, &st) < 0 || (uint64_t)st.st_size != r->content_len))
		not_kept(r);
}

void keep_temp_files(struct capture *c)
{
	uint64_t kept = 0;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		if (r->kind != CKPT_FD_FILE || !(r->kind_flags & CKPT_FILE_KEPT))
			continue;
		if (r->shares_with || r->share_pid || kept + r->content_len > TEMP_KEEP_ALL ||
		    c->pipe_data_size + r->content_len > c->pipe_data_cap || fd_contents_copy(c, r))
			not_kept(r);
		else
			kept += r->content_len;
	}
}

int path_leads_to(const char *path, const struct stat *want)
{
	struct stat st;
	int link = S_ISLNK(want->st_mode) ? AT_SYMLINK_NOFOLLOW : 0; /* an O_PATH fd's link itself */
	return sys_fstatat(AT_FDCWD, path, &st, link) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
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
	/* With the effective ids, as open() checks them; O_PATH needs no
	 * right to the file itself, only the search of its directories that
	 * path_leads_to's stat has just made. */
	long err = r->open_flags & O_PATH ? 0 : sys_faccessat2(AT_FDCWD, path, access_mode(r->open_flags), AT_EACCESS);
	if (err == -13 /* EACCES */ || err == -1 /* EPERM */ || err == -30 /* EROFS */)
		return fd_refusal(c, r, path, (r->open_flags & O_ACCMODE) == O_RDONLY
						      ? "the program may no longer open it for reading, so a restart could not reopen it"
						      : "the program may no longer open it for writing, so a restart could not reopen it");
	return 0;
}
#endif

#ifdef CKPT_STUB
static int dir_of_exists(const char *path)
{
	char dir[CKPT_PATH_MAX];
	str_dir_of(dir, sizeof dir, path);
	struct stat st;
	return sys_fstatat(AT_FDCWD, dir, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

void fd_file_check_world(const struct ckpt_fd *f, const char *path)
{
	struct stat st;
	struct line why = {.len = 0};
	line_str(&why, "fd ");
	line_u64(&why, (uint64_t)f->fd);
	line_str(&why, ": ");
	line_str(&why, path);
	int link = (f->open_flags & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	if (sys_fstatat(AT_FDCWD, path, &st, link) < 0) {
		if (f->kind_flags & CKPT_FILE_KEPT && dir_of_exists(path))
			return; /* made again (fd_file_remake) */
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

/* O_EXCL: one there (never deleted, or made by an earlier record of the
 * same file, in this process or another of the tree) is reopened as it is. */
void fd_file_remake(const struct ckpt_fd *f, const char *path, int image_fd)
{
	if (!(f->kind_flags & CKPT_FILE_KEPT))
		return;
	long fd = sys_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
	if (fd == -17 /* EEXIST */)
		return;
	if (fd < 0)
		die_path("cannot make again the temporary file", path, fd);
	long err = sys_fchmod((int)fd, f->mode); /* past the umask */
	if (err < 0)
		die_path("cannot make again the temporary file", path, err);
	refill_from_image(image_fd, f->content_offset, f->content_len, f->content_crc, (int)fd, 1, "temporary file");
	sys_close((int)fd);
}

void fd_file_restore(const struct ckpt_fd *f, const char *path, int image_fd)
{
	fd_file_remake(f, path, image_fd);
	int fd = fd_file_reopen(f, path);
	place(fd, f);
	sys_close(fd);
}
#endif
