/*
 * What becomes of a descriptor no kind can bring back: dropped with a
 * warning if it was already open at launch (stray descriptors from job
 * runners and IDEs are common), or else the checkpoint fails by name,
 * unless the user chose --drop-unsupported-fds.
 */
#include "ckpt_lib.h"
#include "tree.h"

/* Open before the program started: someone else's, dropped rather than refused. */
int inherited_at_launch(int fd)
{
	return fd < 4096 && (ckpt_config.inherited_fds[fd / 64] >> (fd % 64) & 1);
}

/* An event loop's own descriptors: a program that loses one does not see an
 * I/O error it can handle, its loop fails (libuv aborts on epoll_wait's
 * EBADF: node's restart died with status 134 and no message). Dropping
 * them cannot give a working program, so --drop-unsupported-fds does not
 * apply to those the program opened, and the refusal does not offer it.
 * Epolls, eventfds, signalfds, timerfds and inotify instances have kinds of their own; they arrive
 * here only when their kind refuses one, `why` saying why. */
static int event_loop_fd(const char *target)
{
	static const char *const kinds[] = {"anon_inode:[eventpoll]", "anon_inode:[eventfd]", "anon_inode:[signalfd]",
					    "anon_inode:[timerfd]", "anon_inode:inotify", "anon_inode:[io_uring]"};
	for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (str_starts(target, kinds[i]))
			return 1;
	return 0;
}

/* Fds already warned about by a periodic checkpoint: the next periods drop
 * them without a word, or a stray inherited pipe would repeat its line
 * every period. */
static uint64_t warned_periodic[64];

static int warned_before(const struct capture *c, int fd)
{
	if (!c->periodic || fd >= 4096)
		return 0;
	uint64_t bit = 1ull << (fd % 64);
	int before = (warned_periodic[fd / 64] & bit) != 0;
	warned_periodic[fd / 64] |= bit;
	return before;
}

int from_launch(struct capture *c, int fd)
{
	/* A member's: the root's launch fds, whatever number the member has them at. */
	return c->member_path ? tree_launch_fd(c, fd) : inherited_at_launch(fd);
}

int drop_or_fail(struct capture *c, int fd, const char *target, const char *why)
{
	struct line l = {.len = 0};
	int inherited = from_launch(c, fd);
	if (!inherited && event_loop_fd(target)) {
		line_str(&l, "fd ");
		line_u64(&l, (uint64_t)fd);
		line_str(&l, " (");
		line_str(&l, target);
		line_str(&l, why[0] ? ": " : "");
		line_str(&l, why);
		line_str(&l, ") belongs to the program's event loop and cannot be restored yet; "
			     "closing it would break the program, so --drop-unsupported-fds does not apply");
		c->error = l;
		return -1;
	}
	int drop = inherited || ckpt_config.drop_unsupported_fds;
	line_str(&l, drop ? "ckpt: warning: fd " : "fd ");
	line_u64(&l, (uint64_t)fd);
	line_str(&l, " (");
	line_str(&l, target);
	line_str(&l, why[0] ? ": " : "");
	line_str(&l, why);
	line_str(&l, drop ? ") cannot be restored; it will be closed after a restart"
			  : ") was opened by the program and cannot be restored; "
			    "--drop-unsupported-fds closes such fds at restart instead");
	if (!drop) {
		c->error = l;
		return -1;
	}
	/* A member's launch fd is one the root still holds (tree_launch_fd):
	 * the root's own capture drops it too and says so, once. Said again by
	 * every member, a periodic checkpoint of a build repeated it for each
	 * new compiler process. */
	if (!warned_before(c, fd) && !(inherited && c->member_path))
		say(&l);
	return 0;
}
