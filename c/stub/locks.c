#define _GNU_SOURCE
/*
 * Locks the program held, taken again once every descriptor is in place
 * and before anything is torn down. After the last close of a restored fd:
 * closing any fd on a file drops the process's POSIX locks on it. A lock
 * another process holds now refuses the restart, naming the file, and the
 * locks taken so far go with the stub's exit.
 */
#include <fcntl.h>
#include <sys/file.h>
#include "stub.h"
#include "../sys.h"

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
