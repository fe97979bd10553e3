#define _GNU_SOURCE
/*
 * Locks the program holds: flock, POSIX record locks, OFD locks and leases.
 * libckpt reads them from /proc/self/fdinfo/N ("lock:" lines). The kernel
 * lists a lock under every fd on the open file that holds it (flock, OFD,
 * lease) or that set it (POSIX), so fds sharing an open file are read once.
 * A lock on an fd the restart does not reopen by path, or one that cannot
 * be taken again exactly, fails the checkpoint by fd and path.
 *
 * The stub takes them again once every descriptor is in place and before
 * anything is torn down. After the last close of a restored fd: closing any
 * fd on a file drops the process's POSIX locks on it. A lock another
 * process holds now refuses the restart, naming the file, and the locks
 * taken so far go with the stub's exit.
 */
#include <fcntl.h>
#include <sys/file.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../lib/lock_line.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

/* The kinds a lock can be taken on again: a file the restart opens itself. */
static int lockable(uint32_t kind)
{
	return kind == CKPT_FD_FILE || kind == CKPT_FD_DELETED || kind == CKPT_FD_MEMFD;
}

/* Each lock names a restored fd reopened by path; a whole-file lock (flock,
 * lease) has no range; a range stays within off_t. */
const char *fd_locks_problem(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_lock *l = (const void *)(t + h->locks_off);
	const struct ckpt_fd *f = (const void *)(t + h->fds_off);
	for (uint32_t i = 0; i < h->nlocks; i++) {
		uint32_t k = 0;
		while (k < h->nfds && f[k].fd != l[i].fd)
			k++;
		int whole = l[i].kind == CKPT_LOCK_FLOCK || l[i].kind == CKPT_LOCK_LEASE;
		if (k >= h->nfds || !lockable(f[k].kind) || f[k].shares_with || l[i].kind < CKPT_LOCK_POSIX ||
		    l[i].kind > CKPT_LOCK_KIND_MAX || l[i].type > 1 || (whole && (l[i].start || l[i].len)) ||
		    l[i].start > (1ull << 62) || l[i].len > (1ull << 62))
			return "lock record is invalid (corrupt image)";
	}
	return 0;
}

#ifdef CKPT_LIB
static int lock_fail(struct capture *c, const struct ckpt_fd *r, const char *why)
{
	char path[CKPT_PATH_MAX];
	struct line p = self_fd_path(r->fd);
	long n = sys_readlinkat(AT_FDCWD, p.buf, path, sizeof path - 1);
	path[n > 0 ? n : 0] = 0;
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, " (");
	line_str(&c->error, path);
	line_str(&c->error, ") holds ");
	line_str(&c->error, why);
	line_str(&c->error, ", which a restart cannot take again");
	return -1;
}

static int fd_locks(struct capture *c, const struct ckpt_fd *r)
{
	long len = read_fdinfo(c, r->fd);
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/fdinfo", len);
	for (const char *s = c->text, *end = c->text + len; s < end;) {
		const char *eol = s;
		while (eol < end && *eol != '\n')
			eol++;
		if (eol - s > 5 && str_starts(s, "lock:")) {
			const char *why = "a lock ckpt cannot read";
			struct ckpt_lock l = {.fd = r->fd};
			if (lock_line_parse(s + 5, eol, &l, &why) <= 0)
				return lock_fail(c, r, why);
			if (!lockable(r->kind))
				return lock_fail(c, r, "a lock on a descriptor that is not reopened by path");
			if (c->nlocks >= c->max_locks)
				return capture_fail(c, "too many file locks", 0);
			c->locks[c->nlocks++] = l;
		}
		s = eol + 1;
	}
	return 0;
}

int capture_locks(struct capture *c)
{
	c->nlocks = 0;
	for (uint32_t i = 0; i < c->nfds; i++)
		if (!c->fds[i].shares_with && fd_locks(c, &c->fds[i]))
			return -1;
	return 0;
}
#endif

#ifdef CKPT_STUB
static const char *kind_name(uint32_t kind)
{
	if (kind == CKPT_LOCK_POSIX)
		return "POSIX record";
	if (kind == CKPT_LOCK_OFD)
		return "OFD";
	if (kind == CKPT_LOCK_FLOCK)
		return "flock";
	return "lease";
}

static long take(const struct ckpt_lock *l)
{
	if (l->kind == CKPT_LOCK_FLOCK)
		return sys_flock(l->fd, (l->type ? LOCK_EX : LOCK_SH) | LOCK_NB);
	if (l->kind == CKPT_LOCK_LEASE)
		return sys_fcntl(l->fd, F_SETLEASE, l->type ? F_WRLCK : F_RDLCK);
	struct flock fl = {.l_type = (short)(l->type ? F_WRLCK : F_RDLCK), .l_whence = SEEK_SET,
			   .l_start = (long)l->start, .l_len = (long)l->len};
	return sys_fcntl(l->fd, l->kind == CKPT_LOCK_OFD ? F_OFD_SETLK : F_SETLK, (long)&fl);
}

void take_locks(const struct ckpt_lock *locks, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds,
		const char *strings)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_lock *l = &locks[i];
		long err = take(l);
		if (err >= 0)
			continue;
		uint32_t k = 0;
		while (k < nfds && fds[k].fd != l->fd)
			k++; /* validate.c made sure it is there */
		struct line why = {.len = 0};
		line_str(&why, "fd ");
		line_u64(&why, (uint64_t)l->fd);
		line_str(&why, " (");
		line_str(&why, string_at(strings, fds[k].path_str));
		line_str(&why, "): cannot take its ");
		line_str(&why, kind_name(l->kind));
		line_str(&why, l->type ? " write " : " read ");
		line_str(&why, l->kind == CKPT_LOCK_LEASE ? "lease" : "lock");
		if (l->kind == CKPT_LOCK_POSIX || l->kind == CKPT_LOCK_OFD) {
			line_str(&why, " on bytes ");
			line_u64(&why, l->start);
			line_str(&why, "-");
			if (l->len)
				line_u64(&why, l->start + l->len - 1);
			else
				line_str(&why, "EOF");
		}
		if (err == -11 /* EAGAIN */ || err == -13 /* EACCES */) {
			line_str(&why, " again: another process holds a conflicting one now; restart once it lets go");
		} else {
			line_str(&why, " again: ");
			line_str(&why, errno_text(err));
		}
		die_line(&why);
	}
}
#endif
