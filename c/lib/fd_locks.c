/*
 * Locks the program holds: flock, POSIX record locks, OFD locks and leases,
 * as /proc/self/fdinfo/N lists them ("lock:" lines). The kernel lists a
 * lock under every fd on the open file that holds it (flock, OFD, lease)
 * or that set it (POSIX), so fds sharing an open file are read once. A
 * lock on an fd the restart does not reopen by path, or one that cannot be
 * taken again exactly, fails the checkpoint by fd and path.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include "ckpt_lib.h"
#include "lock_line.h"
#include "../sys.h"

static int lock_fail(struct capture *c, const struct ckpt_fd *r, const char *why)
{
	char path[CKPT_PATH_MAX];
	struct line p = {.len = 0};
	line_str(&p, "/proc/self/fd/");
	line_u64(&p, (uint64_t)r->fd);
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
	struct line p = {.len = 0};
	line_str(&p, "/proc/self/fdinfo/");
	line_u64(&p, (uint64_t)r->fd);
	long len = read_proc_file(c, p.buf);
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
			if (r->kind != CKPT_FD_FILE && r->kind != CKPT_FD_DELETED && r->kind != CKPT_FD_MEMFD)
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
