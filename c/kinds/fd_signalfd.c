#define _GNU_SOURCE
/*
 * CKPT_FD_SIGNALFD: a descriptor that takes the signals of its mask
 * (signalfd(2)). All it holds is the mask, from /proc/self/fdinfo; the
 * signals it would read are the process's pending ones, which come back
 * on their own (c/stub/signals.c), as does the blocked mask that keeps
 * them from running handlers instead. The mask libckpt's signalfd()
 * passed on never has SIGRTMAX (sigmask_waits.c), so neither does this.
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

const char *fd_signalfd_record_problem(const struct ckpt_fd *f)
{
	return fd_stores_nothing(f); /* every mask is one signalfd4 takes */
}

#ifdef CKPT_LIB
int fd_signalfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	long len = read_fdinfo(c, fd);
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/fdinfo", len);
	if (fdinfo_number(c->text, "sigmask:", 16, &r->sigmask) < 0)
		return drop_or_fail(c, fd, target, "its mask is not in /proc/self/fdinfo");
	return 1;
}
#endif

#ifdef CKPT_STUB
int fd_signalfd_make(const struct ckpt_fd *f)
{
	return to_high(sys_signalfd4(-1, &f->sigmask, O_CLOEXEC), "cannot create a signalfd", 0);
}

void fd_signalfd_restore(const struct ckpt_fd *f)
{
	int hi = fd_signalfd_make(f);
	place(hi, f);
	sys_close(hi);
	set_some_status_flags(f, O_NONBLOCK);
}
#endif
