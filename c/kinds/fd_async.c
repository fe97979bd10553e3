#define _GNU_SOURCE
/*
 * Signal-driven I/O: a descriptor with O_ASYNC sends its owner a signal
 * (SIGIO, or the one F_SETSIG chose) when it becomes readable or writable.
 * nginx's master and workers talk over socket pairs set so. Not a kind of
 * descriptor but a property any of them may have, kept in the descriptor's
 * record: whom the signal goes to, and which signal.
 *
 * The owner is kept only as the restart can name it again: nobody, the
 * process itself, its process group, or the root of its tree (a member's
 * descriptor the root set up, as nginx's master does before it forks its
 * workers; a tree's restart keeps every pid). One thread as owner
 * (F_OWNER_TID) or any other process is refused at checkpoint. A lease
 * turns O_ASYNC on by itself, and F_SETLEASE at restart does so again, so
 * its owner is not kept (capture_fds.c, lease_async).
 *
 * The stub sets owner, signal and O_ASYNC once every descriptor is in
 * place; its signals are blocked until the program's come back, so a
 * signal sent meanwhile waits for the program's handler.
 */
#include <fcntl.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

const char *fd_async_record_problem(const struct ckpt_fd *f)
{
	if (f->async_owner > CKPT_ASYNC_OWNER_MAX || f->async_signal < 0 || f->async_signal > CKPT_MAX_SIGNALS)
		return "an O_ASYNC owner or signal that is not one (corrupt image)";
	if (f->async_owner != CKPT_ASYNC_NONE && !(f->open_flags & O_ASYNC))
		return "an O_ASYNC owner on a descriptor without O_ASYNC (corrupt image)";
	return 0;
}

#ifdef CKPT_LIB
/* The owner, or 0 with `why` set when the restart could not name it. */
static uint32_t owner_of(int fd, const char **why)
{
	struct f_owner_ex owner = {0, 0};
	if (sys_fcntl(fd, F_GETOWN_EX, (long)&owner) < 0) {
		*why = "signal-driven I/O (O_ASYNC) whose owner cannot be read";
		return 0;
	}
	if (owner.pid == 0)
		return CKPT_ASYNC_NOBODY;
	if (owner.type == F_OWNER_PID && owner.pid == (int)sys_getpid())
		return CKPT_ASYNC_SELF;
	if (owner.type == F_OWNER_PGRP && owner.pid == (int)sys_getpgid(0))
		return CKPT_ASYNC_GROUP;
	if (owner.type == F_OWNER_PID && owner.pid == ckpt_config.pid)
		return CKPT_ASYNC_ROOT; /* a member's: the root's pid comes back in its tree */
	*why = owner.type == F_OWNER_TID ? "signal-driven I/O (O_ASYNC) to one thread, whose id a restart does not keep"
					 : "signal-driven I/O (O_ASYNC) to a process other than this one, its group or its tree's root";
	return 0;
}

int fd_async_capture(int fd, struct ckpt_fd *r, const char **why)
{
	uint32_t owner = owner_of(fd, why);
	if (!owner)
		return -1;
	long sig = sys_fcntl(fd, F_GETSIG, 0);
	if (sig < 0) {
		*why = "signal-driven I/O (O_ASYNC) whose signal cannot be read";
		return -1;
	}
	r->async_owner = owner;
	r->async_signal = (int32_t)sig;
	return 0;
}
#endif

#ifdef CKPT_STUB
static void set_async(const struct ckpt_fd *f, int32_t tree_root_pid)
{
	struct f_owner_ex owner = {F_OWNER_PID, 0};
	if (f->async_owner == CKPT_ASYNC_SELF)
		owner.pid = (int)sys_getpid();
	else if (f->async_owner == CKPT_ASYNC_GROUP)
		owner = (struct f_owner_ex){F_OWNER_PGRP, (int)sys_getpgid(0)};
	else if (f->async_owner == CKPT_ASYNC_ROOT)
		owner.pid = tree_root_pid; /* a tree's restart keeps every pid */
	long err = sys_fcntl(f->fd, F_SETOWN_EX, (long)&owner);
	if (err >= 0)
		err = sys_fcntl(f->fd, F_SETSIG, f->async_signal);
	if (err < 0)
		die("cannot set a descriptor's signal-driven I/O (O_ASYNC) again", err);
	set_some_status_flags(f, O_ASYNC); /* on, from the record's open flags */
}

void fd_async_restore(const struct ckpt_fd *fds, uint32_t n, int32_t tree_root_pid)
{
	for (uint32_t i = 0; i < n; i++)
		if (fds[i].async_owner != CKPT_ASYNC_NONE && !fds[i].shares_with)
			set_async(&fds[i], tree_root_pid);
}
#endif
