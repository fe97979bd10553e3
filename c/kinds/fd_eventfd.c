#define _GNU_SOURCE
/*
 * CKPT_FD_EVENTFD: a counter in the kernel (eventfd(2)). Its value and
 * whether it counts as a semaphore are read from /proc/self/fdinfo (a
 * read() would consume the counter); the restart creates a new eventfd,
 * writes the counter into it and puts it in place, so the program reads
 * exactly what it would have read. Dups of one eventfd come back as one
 * (shares_with): a write to one must wake a reader of the other.
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

#define EFD_SEMAPHORE_ 1
#define EVENTFD_MAX 0xfffffffffffffffeull /* a write of more is refused */

const char *fd_eventfd_record_problem(const struct ckpt_fd *f)
{
	return (f->kind_flags & ~(uint32_t)EFD_SEMAPHORE_) || f->count > EVENTFD_MAX ? FD_RECORD_INVALID
										      : fd_stores_nothing(f);
}

#ifdef CKPT_LIB
int fd_eventfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	uint64_t count, semaphore;
	long len = read_fdinfo(c, fd);
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/fdinfo", len);
	if (fdinfo_number(c->text, "eventfd-count:", 16, &count) < 0)
		return drop_or_fail(c, fd, target, "its counter is not in /proc/self/fdinfo");
	/* Older kernels do not say; a guess would change how reads count. */
	if (fdinfo_number(c->text, "eventfd-semaphore:", 10, &semaphore) < 0)
		return drop_or_fail(c, fd, target, "this kernel does not say whether it is a semaphore "
						   "(eventfd-semaphore in /proc/self/fdinfo)");
	r->count = count;
	r->kind_flags = semaphore ? EFD_SEMAPHORE_ : 0;
	return 1;
}
#endif

#ifdef CKPT_STUB
void fd_eventfd_restore(const struct ckpt_fd *f)
{
	int hi = fd_eventfd_make(f);
	place(hi, f);
	sys_close(hi);
	set_some_status_flags(f, O_NONBLOCK);
}

int fd_eventfd_make(const struct ckpt_fd *f)
{
	long fd = sys_eventfd2(0, O_CLOEXEC | (int)(f->kind_flags & EFD_SEMAPHORE_));
	/* The counter may exceed eventfd2's 32-bit initial value: written instead. */
	if (fd >= 0 && f->count) {
		long w = sys_write((int)fd, &f->count, sizeof f->count);
		if (w != (long)sizeof f->count) {
			sys_close((int)fd);
			fd = w < 0 ? w : -5 /* EIO */;
		}
	}
	return to_high(fd, "cannot create an eventfd", 0);
}
#endif
