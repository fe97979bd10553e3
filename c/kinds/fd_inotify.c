#define _GNU_SOURCE
/*
 * CKPT_FD_INOTIFY: an inotify instance and its watches (inotify(7)). The
 * kernel shows each watch in /proc/self/fdinfo as wd, inode, device and
 * mask, not by path; libckpt learns the path from the program's own
 * inotify_add_watch calls (c/lib/inotify_calls.c). The restart creates the
 * instance again and adds each watch by that path under the same wd.
 *
 * What comes back exactly, and what is refused (README, "Limits"):
 * - Each watch, with the mask the kernel holds (IN_MASK_ADD already folded
 *   in, IN_ONESHOT and IN_EXCL_UNLINK kept) and the call's IN_DONT_FOLLOW
 *   and IN_ONLYDIR, under the same wd: wds come out of a counter per
 *   instance that only goes up (verified on 6.18: remove wd 3 of 1-3 and
 *   the next is 4), so the stub reaches wd N by adding and removing a
 *   filler watch until the counter stands at N - 1, then the counter is
 *   brought to the last wd the program was handed, so its next add gets
 *   the number it would have. Fillers use IN_MASK_CREATE, so none can
 *   change a watch already added.
 * - A watch whose path was not recorded (made before libckpt was loaded,
 *   by a raw syscall, or past the table's room), or whose path no longer
 *   leads to the watched inode (renamed, replaced), refuses the checkpoint
 *   by fd and wd, through drop_or_fail: an instance open at launch is
 *   dropped with a warning instead, like other descriptors ckpt cannot
 *   bring back.
 * - Events queued and not yet read at checkpoint cannot be read without
 *   consuming them (a program running on would lose them), nor put back at
 *   restart: they are not in the image, and the checkpoint says so in one
 *   warning line naming the fd and the bytes. So are events on the watched
 *   files between checkpoint and restart.
 * - At restart the watch is on whatever the path names then (another
 *   inode if the file was replaced meanwhile); a path that no longer
 *   exists refuses the restart before anything is torn down.
 */
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../lib/sort_records.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

#define WATCH_INVALID "inotify watch record is invalid (corrupt image)"
/* What the kernel keeps of a watch's mask (inotify_mark_user_mask), and
 * what of the call's flags is kept beside it. */
#define KEPT_MASK (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)
#define KEPT_ADD_FLAGS (IN_DONT_FOLLOW | IN_ONLYDIR)

const char *fd_inotify_record_problem(const struct ckpt_fd *f)
{
	return f->count > CKPT_INOTIFY_MAX_WD || f->kind_flags ? FD_RECORD_INVALID : fd_stores_nothing(f);
}

/* The record of fd `fd` in the table (sorted by fd), or 0. */
static const struct ckpt_fd *record_of(const struct ckpt_fd *f, uint32_t n, int32_t fd)
{
	uint32_t i = fd_record_index(f, n, fd);
	return i < n ? &f[i] : 0;
}

/* Sorted by fd, then wd (so no wd twice); each on an inotify record of its
 * own, under its last wd; an absolute path; a mask the kernel could hold. */
const char *fd_inotify_watches_problem(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_inotify_watch *w = (const void *)(t + h->inotify_off);
	const struct ckpt_fd *fds = (const void *)(t + h->fds_off);
	for (uint32_t i = 0; i < h->ninotify; i++) {
		const struct ckpt_fd *f = record_of(fds, h->nfds, w[i].fd);
		if (i && (w[i].fd < w[i - 1].fd || (w[i].fd == w[i - 1].fd && w[i].wd <= w[i - 1].wd)))
			return WATCH_INVALID;
		if (!f || f->kind != CKPT_FD_INOTIFY || f->shares_with || w[i].wd < 1 || (uint64_t)w[i].wd > f->count ||
		    !(w[i].mask & IN_ALL_EVENTS) || (w[i].mask & ~(uint32_t)KEPT_MASK) ||
		    (w[i].add_flags & ~(uint32_t)KEPT_ADD_FLAGS) || w[i].pad || w[i].path_str >= h->strings_size ||
		    t[h->strings_off + w[i].path_str] != '/')
			return WATCH_INVALID;
	}
	return 0;
}

#ifdef CKPT_LIB
/* The kernel's encoding of a device number (fdinfo's sdev), from stat's. */
static uint64_t kernel_dev(uint64_t dev)
{
	uint64_t major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffull);
	uint64_t minor = (dev & 0xff) | ((dev >> 12) & ~0xffull);
	return major << 20 | minor;
}

/* "watch wd W (<path>)<why>", for drop_or_fail. */
static int watch_fail(struct capture *c, int fd, const char *target, int32_t wd, const char *path, const char *why)
{
	struct line l = {.len = 0};
	line_str(&l, "its watch wd ");
	line_u64(&l, (uint64_t)wd);
	if (path) {
		line_str(&l, " (");
		line_str(&l, path);
		line_str(&l, ")");
	}
	line_str(&l, why);
	return drop_or_fail(c, fd, target, l.buf);
}

/* fs/notify/fdinfo.c: "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x …". */
static int parse_watch(const char *s, const char *eol, struct ckpt_inotify_watch *w)
{
	uint64_t wd, ino, dev, mask;
	if (!(s = fdinfo_field(s, eol, "wd:", 16, &wd)) || !(s = fdinfo_field(s, eol, "ino:", 16, &ino)) ||
	    !(s = fdinfo_field(s, eol, "sdev:", 16, &dev)) || !fdinfo_field(s, eol, "mask:", 16, &mask) || !wd ||
	    wd > CKPT_INOTIFY_MAX_WD || mask > 0xffffffffull)
		return -1;
	*w = (struct ckpt_inotify_watch){.wd = (int32_t)wd, .ino = ino, .dev = dev, .mask = (uint32_t)mask & KEPT_MASK};
	return 0;
}

/* The watch's recorded path, checked to lead to its inode still: 1 when
 * it does, else what drop_or_fail said (0: the fd is dropped; -1). */
static int watch_path(struct capture *c, int fd, const char *target, struct ckpt_inotify_watch *w)
{
	const char *path = 0;
	struct stat st;
	int found = inotify_recorded(fd, w->wd, &path, &w->add_flags);
	if (found < 0)
		return watch_fail(c, fd, target, w->wd, 0, " was made by a path too long for ckpt to record");
	if (!found)
		return watch_fail(c, fd, target, w->wd, 0,
				  " was made without libckpt seeing its path (before ckpt loaded, by a raw "
				  "syscall, or beyond the 1024 live watches it records)");
	int nofollow = (w->add_flags & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	if (sys_fstatat(AT_FDCWD, path, &st, nofollow) < 0 || st.st_ino != w->ino || kernel_dev(st.st_dev) != w->dev)
		return watch_fail(c, fd, target, w->wd, path,
				  ": the path no longer leads to the watched file (renamed, removed or replaced)");
	w->path_str = capture_string(c, path, str_len(path));
	return w->path_str ? 1 : capture_fail(c, "too many strings", 0);
}

static void warn_queued(int fd)
{
	int queued = 0;
	if (sys_ioctl(fd, FIONREAD, &queued) < 0 || queued <= 0)
		return;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: warning: fd ");
	line_u64(&l, (uint64_t)fd);
	line_str(&l, " (inotify): ");
	line_u64(&l, (uint64_t)queued);
	line_str(&l, " bytes of events not yet read are not in the image; a restart will not deliver them");
	say(&l);
}

int fd_inotify_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	int pid = (int)sys_getpid();
	for (uint32_t i = 0; i < c->nfds; i++) /* a dup: the lower fd holds the watches */
		if (c->fds[i].kind == CKPT_FD_INOTIFY &&
		    sys_kcmp(pid, pid, 0 /* KCMP_FILE */, (unsigned long)c->fds[i].fd, (unsigned long)fd) == 0) {
			r->count = c->fds[i].count;
			return 1;
		}
	long len = read_fdinfo(c, fd);
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/fdinfo", len);
	uint32_t first = c->ninotify;
	int32_t last = 0;
	for (const char *s = c->text, *end = c->text + len; s < end;) {
		const char *eol = s;
		while (eol < end && *eol != '\n')
			eol++;
		if (str_starts(s, "inotify wd:")) {
			struct ckpt_inotify_watch w;
			int kept;
			if (parse_watch(s, eol, &w))
				return capture_fail(c, "cannot read an inotify's watches in /proc/self/fdinfo", 0);
			if (c->ninotify >= c->max_inotify)
				return capture_fail(c, "too many inotify watches", 0);
			w.fd = fd;
			if ((kept = watch_path(c, fd, target, &w)) <= 0) {
				c->ninotify = first; /* the fd is dropped, or the checkpoint refused */
				return kept;
			}
			c->inotify[c->ninotify++] = w;
			last = w.wd > last ? w.wd : last;
		}
		s = eol + 1;
	}
	/* fdinfo lists them newest first; the format wants wd order */
	sort_records_by_i32(&c->inotify[first], c->ninotify - first, sizeof *c->inotify,
			    offsetof(struct ckpt_inotify_watch, wd));
	int32_t handed = inotify_last_wd(fd);
	r->count = (uint64_t)(handed > last ? handed : last);
	if (r->count > CKPT_INOTIFY_MAX_WD)
		return drop_or_fail(c, fd, target, "it handed out more watch descriptors than a restart can count up to");
	warn_queued(fd);
	return 1;
}
#endif

#ifdef CKPT_STUB
/* "fd F (inotify) watch wd W (<path>): <why>[: <errno>]", refusing the restart. */
__attribute__((noreturn)) static void watch_die(const struct ckpt_inotify_watch *w, const char *path, const char *why,
						long err)
{
	struct line l = {.len = 0};
	line_str(&l, "fd ");
	line_u64(&l, (uint64_t)w->fd);
	line_str(&l, " (inotify) watch wd ");
	line_u64(&l, (uint64_t)w->wd);
	line_str(&l, " (");
	line_str(&l, path);
	line_str(&l, "): ");
	line_str(&l, why);
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

/* Before teardown: every watched path must still be there to be watched. */
void fd_inotify_check_world(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_inotify_watch *w = (const void *)(t + h->inotify_off);
	for (uint32_t i = 0; i < h->ninotify; i++) {
		const char *path = string_at(t + h->strings_off, w[i].path_str);
		struct stat st;
		long err = sys_fstatat(AT_FDCWD, path, &st, (w[i].add_flags & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
		if (err < 0)
			watch_die(&w[i], path, "the watched path no longer exists", err);
		if ((w[i].add_flags & IN_ONLYDIR) && !S_ISDIR(st.st_mode))
			watch_die(&w[i], path, "the watched path is no longer a directory", 0);
	}
}

void fd_inotify_restore(const struct ckpt_fd *f)
{
	int hi = to_high(sys_inotify_init1(IN_CLOEXEC), "cannot create an inotify instance", 0);
	place(hi, f);
	sys_close(hi);
	set_some_status_flags(f, O_NONBLOCK);
}

/* Takes the instance's next wd with a watch added and removed at once: 1
 * when it did, 0 when `path`'s file is already watched (IN_MASK_CREATE). */
static int use_up_one_wd(int fd, const char *path, uint32_t add_flags, int32_t expected,
			 const struct ckpt_inotify_watch *w)
{
	long got = sys_inotify_add_watch(fd, path, IN_ACCESS | IN_MASK_CREATE | (add_flags & IN_DONT_FOLLOW));
	if (got == -17 /* EEXIST */)
		return 0;
	if (got < 0)
		watch_die(w, path, "cannot count wds up to it", got);
	if (got != expected)
		watch_die(w, path, "this kernel did not hand out wds in order", 0);
	sys_inotify_rm_watch(fd, (int)got);
	return 1;
}

/* Directories to count wds up with: a table of pointers would be
 * relocations, which the stub cannot have. */
static const char *spare(unsigned k)
{
	switch (k) {
	case 0:
		return "/";
	case 1:
		return "/proc";
	case 2:
		return "/dev";
	case 3:
		return "/sys";
	default:
		return 0;
	}
}

/* The instance's counter moved to `last`: the next add gets last + 1, as
 * the program's would have. Any file not watched by it will do. */
static void count_up_to(int fd, int32_t next, int32_t last, const struct ckpt_inotify_watch *w)
{
	for (unsigned k = 0; next <= last; next++) {
		while (spare(k) && !use_up_one_wd(fd, spare(k), 0, next, w))
			k++;
		if (!spare(k))
			watch_die(w, "/", "no unwatched file left to count wds up with", 0);
	}
}

/* After every fd is back: each instance's watches, in wd order, each
 * reached by counting up the wds before it. */
void restore_inotify_watches(const struct ckpt_inotify_watch *w, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds,
			     const char *strings)
{
	for (uint32_t i = 0; i < nfds; i++) {
		if (fds[i].kind != CKPT_FD_INOTIFY || fds[i].shares_with)
			continue;
		int32_t next = 1;
		const struct ckpt_inotify_watch *last = 0;
		for (uint32_t k = 0; k < n; k++) {
			if (w[k].fd != fds[i].fd)
				continue;
			const char *path = string_at(strings, w[k].path_str);
			for (; next < w[k].wd; next++)
				if (!use_up_one_wd(fds[i].fd, path, w[k].add_flags, next, &w[k]))
					watch_die(&w[k], path, "the path now leads to a file another watch of it watches", 0);
			long got = sys_inotify_add_watch(fds[i].fd, path, w[k].mask | w[k].add_flags | IN_MASK_CREATE);
			if (got < 0)
				watch_die(&w[k], path, got == -17 ? "the path now leads to a file another watch of it watches"
								  : "cannot watch it again", got == -17 ? 0 : got);
			if (got != w[k].wd)
				watch_die(&w[k], path, "this kernel did not hand out wds in order", 0);
			next = (int32_t)got + 1;
			last = &w[k];
		}
		struct ckpt_inotify_watch none = {.fd = fds[i].fd};
		count_up_to(fds[i].fd, next, (int32_t)fds[i].count, last ? last : &none);
	}
}

/* Phase 2, as late as can be: the fillers' removals (IN_IGNORED) and
 * whatever the restart itself did to watched files are not the program's
 * events; read them all away before it runs. */
void fd_inotify_drain(const struct ckpt_fd *fds, uint32_t n)
{
	char buf[4096] __attribute__((aligned(8)));
	for (uint32_t i = 0; i < n; i++) {
		int queued = 0;
		if (fds[i].kind != CKPT_FD_INOTIFY || fds[i].shares_with)
			continue;
		while (sys_ioctl(fds[i].fd, FIONREAD, &queued) == 0 && queued > 0)
			if (sys_read(fds[i].fd, buf, sizeof buf) <= 0)
				break;
	}
}
#endif
