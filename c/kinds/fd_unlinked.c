#define _GNU_SOURCE
/*
 * CKPT_FD_DELETED, CKPT_FD_MEMFD: files with no name to reopen, a regular
 * file deleted while open (the temporary-file pattern) and a memfd. Their
 * bytes go into the image once, as CRIU does, up to CKPT_CONTENT_MAX each,
 * and the restart recreates them unlinked (O_TMPFILE in the same
 * directory; memfd_create with the same name, then the same seals).
 * Refused at checkpoint, so the restart never meets them: a file still
 * linked elsewhere (its other names would no longer share it), one owned
 * by another user, a directory that cannot hold an unnamed file, a
 * hugetlbfs memfd, permission bits that no longer allow the program's
 * access mode (the restart opens it again so), and a MAP_SHARED mapping
 * of it (it would no longer share the restored file).
 *
 * A file opened more than once (GNU parallel opens each job's temporary
 * file twice, writes through one and reads back through the other) is
 * made once: the lowest fd on it holds the bytes, and every other open
 * file description names it (`reopens`) and is opened again on the made
 * file through /proc/self/fd, with its own access mode, flags and offset,
 * so writes through one are read through the other as before. A dup is
 * one description (shares_with), as for any file. In a tree the holder may
 * be an earlier process's fd (share_pid; c/lib/tree_fds.c).
 *
 * At restart: same permission bits, size and contents, then the memfd's
 * seals (last: a write seal would stop the refill). The deleted file is
 * made with O_TMPFILE in the directory it was deleted from (the checkpoint
 * found it able to hold one), filled, linked under its old name and
 * unlinked at once: /proc/PID/fd shows the same "NAME (deleted)" as
 * before, where an O_TMPFILE file alone shows "#INODE". A file that has
 * the name by now refuses the restart. Then it is opened again through its
 * name with the program's own access mode and flags, since O_TMPFILE
 * insists on write access.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../maps.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

const char *fd_unlinked_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	if (f->kind == CKPT_FD_DELETED && !f->path_str)
		return FD_RECORD_INVALID; /* a memfd's name may be empty */
	if (f->content_len && (f->shares_with || f->reopens || fd_contents_outside(f, h)))
		return FD_CONTENTS_OUTSIDE;
	return f->pipe_len ? FD_PIPE_BYTES_OUTSIDE : 0;
}

const char *fd_unlinked_reopens_problem(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_fd *f = (const void *)(tables + h->fds_off);
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (!f[i].reopens)
			continue;
		if ((f[i].kind != CKPT_FD_DELETED && f[i].kind != CKPT_FD_MEMFD) || f[i].shares_with)
			return FD_REOPENS_INVALID;
		if (f[i].share_pid) { /* the holder is in an earlier process: tree_validate.c */
			if ((int64_t)f[i].reopens - 1 != f[i].share_fd)
				return FD_REOPENS_INVALID;
			continue;
		}
		uint32_t k = fd_record_index(f, h->nfds, (int32_t)(f[i].reopens - 1));
		const struct ckpt_fd *holder = k < h->nfds ? &f[k] : 0;
		if (!holder || holder->fd >= f[i].fd || holder->kind != f[i].kind || holder->reopens || holder->shares_with ||
		    holder->share_pid || holder->share_fd)
			return FD_REOPENS_INVALID;
	}
	return 0;
}

#ifdef CKPT_LIB
#define HUGETLBFS_MAGIC 0x958458f6

uint32_t fd_unlinked_kind(const char *target)
{
	return str_starts(target, "/memfd:") ? CKPT_FD_MEMFD : CKPT_FD_DELETED;
}
static int refuse(struct line *why, const char *text)
{
	line_str(why, text);
	return -1;
}

/* "/a/b/name (deleted)" -> "/a/b/name"; "/memfd:x (deleted)" -> "x". */
static void original_name(const char *target, int memfd, char *out, size_t cap)
{
	size_t n = str_len(target) - 10; /* " (deleted)" */
	const char *from = memfd ? target + 7 : target;
	n -= (size_t)(from - target);
	if (n + 1 > cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = from[i];
	out[n] = 0;
}

static int shared_mapping(struct capture *c, const struct stat *st, struct line *why)
{
	long len = read_proc_file(c, "/proc/self/maps");
	if (len <= 0)
		return refuse(why, "cannot read /proc/self/maps to look for its mappings");
	uint32_t major = (uint32_t)(((st->st_dev >> 8) & 0xfff) | ((st->st_dev >> 32) & ~0xfffull));
	uint32_t minor = (uint32_t)((st->st_dev & 0xff) | ((st->st_dev >> 12) & ~0xffull));
	const char *cur = c->text, *end = c->text + len;
	struct maps_entry e;
	for (int k; (k = maps_next(&cur, end, &e)) != 0;)
		if (k > 0 && e.shared && e.inode == st->st_ino && e.dev_major == major && e.dev_minor == minor) {
			line_str(why, "it is also mapped shared at ");
			line_range(why, e.start, e.end);
			return refuse(why, ", and the mapping could not share the restored file");
		}
	return 0;
}

/* An earlier fd on the same file: a dup of this one (1: kept as that one
 * open file, shares_with, nothing to store), or another open file
 * description, whose fd, the lowest on the file, holds its bytes: this
 * record opens it again (reopens). Dups are looked for first, since an
 * earlier fd may be another description and a later one this one's. */
static int earlier_open(struct capture *c, int fd, const struct stat *st, struct ckpt_fd *r)
{
	int pid = (int)sys_getpid();
	const struct ckpt_fd *holder = 0;
	for (uint32_t i = 0; i < c->nfds; i++) {
		const struct ckpt_fd *o = &c->fds[i];
		struct stat ost;
		if ((o->kind != CKPT_FD_DELETED && o->kind != CKPT_FD_MEMFD) || sys_fstat(o->fd, &ost) < 0 ||
		    ost.st_ino != st->st_ino || ost.st_dev != st->st_dev)
			continue;
		if (sys_kcmp(pid, pid, 0 /* KCMP_FILE */, (unsigned long)fd, (unsigned long)o->fd) == 0)
			return 1;
		if (!holder || o->fd < holder->fd)
			holder = o;
	}
	if (holder)
		r->reopens = (uint32_t)holder->fd + 1;
	return 0;
}

/* The restart opens each description again with its access mode, by name
 * or through /proc/self/fd: permission bits changed since the program's
 * open (a chmod 0400 of a file open for writing) would refuse it then. */
static int reopenable(int fd, const struct ckpt_fd *r, struct line *why)
{
	struct line p = self_fd_path(fd);
	long t = sys_openat(AT_FDCWD, p.buf, (int)(r->open_flags & O_ACCMODE) | O_CLOEXEC | O_NOCTTY, 0);
	if (t >= 0) {
		sys_close((int)t);
		return 0;
	}
	line_str(why, "its permission bits no longer let it be opened as the program opened it (");
	line_str(why, errno_text(t));
	return refuse(why, "), which a restart does");
}

static int tmpfile_possible(const char *path, struct line *why)
{
	char dir[CKPT_PATH_MAX];
	str_dir_of(dir, sizeof dir, path);
	long t = sys_openat(AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t >= 0) {
		sys_close((int)t);
		return 0;
	}
	line_str(why, "its directory ");
	line_str(why, dir);
	line_str(why, " cannot hold an unnamed file (O_TMPFILE: ");
	line_str(why, errno_text(t));
	return refuse(why, ")");
}

long fd_contents_copy(struct capture *c, struct ckpt_fd *r)
{
	struct line p = self_fd_path(r->fd);
	long rd = sys_openat(AT_FDCWD, p.buf, O_RDONLY | O_CLOEXEC, 0);
	if (rd < 0)
		return rd;
	char *to = c->pipe_data + c->pipe_data_size;
	for (uint64_t got = 0; got < r->content_len;) {
		long k = sys_pread((int)rd, to + got, r->content_len - got, (long)got);
		if (k <= 0) {
			sys_close((int)rd);
			return 1;
		}
		got += (uint64_t)k;
	}
	sys_close((int)rd);
	r->content_offset = c->pipe_data_size; /* relative; the writer makes it absolute */
	c->pipe_data_size += r->content_len;
	return 0;
}

static int copy_contents(struct capture *c, struct ckpt_fd *r)
{
	if (c->pipe_data_size + r->content_len > c->pipe_data_cap)
		return capture_fail(c, "deleted files and memfds hold more than ckpt stores in one image", 0);
	long err = fd_contents_copy(c, r);
	if (!err)
		return 0;
	struct line p = self_fd_path(r->fd);
	if (err < 0)
		return capture_fail_path(c, "cannot read the deleted file or memfd on ", p.buf, err);
	return capture_fail_path(c, "a deleted file or memfd changed size while being read: ", p.buf, 0);
}

int store_unlinked_contents(struct capture *c)
{
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		if (r->kind != CKPT_FD_DELETED && r->kind != CKPT_FD_MEMFD)
			continue;
		if (r->shares_with || r->reopens || r->share_pid)
			r->content_len = 0; /* the file's holder, here or in an earlier process, stores it */
		else if (copy_contents(c, r))
			return -1;
	}
	return 0;
}

static int keep_unlinked(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st,
			 struct line *why)
{
	int memfd = r->kind == CKPT_FD_MEMFD;
	char name[CKPT_PATH_MAX];
	original_name(target, memfd, name, sizeof name);
	r->mode = st->st_mode & 07777;
	r->content_len = (uint64_t)st->st_size;
	long off = sys_lseek(fd, 0, SEEK_CUR);
	r->offset = off > 0 ? (uint64_t)off : 0;
	if (memfd) {
		if (fd_fs_magic(fd) == HUGETLBFS_MAGIC)
			return refuse(why, "a hugetlbfs memfd (MFD_HUGETLB), which is not restored");
		long seals = sys_fcntl(fd, F_GET_SEALS, 0);
		r->seals = seals > 0 ? (uint32_t)seals : 0;
	} else {
		if (st->st_nlink)
			return refuse(why, "deleted here but still linked under another name");
		if (st->st_uid != sys_geteuid())
			return refuse(why, "a deleted file owned by another user");
		struct stat other;
		if (sys_fstatat(AT_FDCWD, name, &other, AT_SYMLINK_NOFOLLOW) == 0)
			return refuse(why, "its old name is taken by another file now, and a restart recreates it under that name");
		if (tmpfile_possible(name, why))
			return -1;
	}
	if (r->content_len > CKPT_CONTENT_MAX) {
		line_str(why, "its ");
		line_size(why, r->content_len);
		line_str(why, " are more than the ");
		line_size(why, CKPT_CONTENT_MAX);
		return refuse(why, " ckpt stores for such a file");
	}
	if (shared_mapping(c, st, why) || reopenable(fd, r, why))
		return -1;
	if (earlier_open(c, fd, st, r))
		r->content_len = 0;
	r->path_str = capture_string(c, name, str_len(name));
	return 1; /* its bytes: store_unlinked_contents, once sharing is known */
}

int fd_unlinked_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st)
{
	struct line why = {.len = 0};
	return keep_unlinked(c, fd, r, target, st, &why) < 0 ? drop_or_fail(c, fd, target, why.buf) : 1;
}
#endif

#ifdef CKPT_STUB
#define MFD_CLOEXEC 1u
#define MFD_ALLOW_SEALING 2u

static int tmpfile_in_dir_of(const char *path, unsigned mode)
{
	char dir[CKPT_PATH_MAX];
	str_dir_of(dir, sizeof dir, path);
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
	struct line self = self_fd_path(tmp);
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

int fd_unlinked_make(const struct ckpt_fd *f, const char *name, int image_fd)
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
	return fd;
}

int fd_unlinked_reopen(const struct ckpt_fd *f, int file_fd)
{
	struct line self = self_fd_path(file_fd);
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE)) | O_CLOEXEC;
	int fd = to_high(sys_openat(AT_FDCWD, self.buf, flags, 0), "cannot open again the deleted file or memfd on", self.buf);
	long err = f->offset ? sys_lseek(fd, (long)f->offset, SEEK_SET) : 0;
	if (err < 0)
		die_path("cannot seek in", self.buf, err);
	return fd;
}

void fd_unlinked_restore(const struct ckpt_fd *f, const char *name, int image_fd, int file_fd)
{
	int fd = f->reopens ? fd_unlinked_reopen(f, file_fd) : fd_unlinked_make(f, name, image_fd);
	place(fd, f);
	set_status_flags(f);
	sys_close(fd);
}
#endif
