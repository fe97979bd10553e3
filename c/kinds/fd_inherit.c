#define _GNU_SOURCE
/*
 * CKPT_FD_INHERIT: fds 0-2 that are terminals, pipes or sockets. Nothing
 * of them is stored: a restart takes them from whoever runs `ckpt
 * restart`, as a program takes them from its shell. Only the program's
 * O_NONBLOCK goes back on (the CLI cleared it before the launch, so one
 * set at checkpoint was the program's own doing, and it relies on it);
 * their O_APPEND belongs to the restart's redirection (`>> log`) and is
 * left alone.
 */
#include <fcntl.h>
#include "fd_kinds.h"
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif

const char *fd_inherit_record_problem(const struct ckpt_fd *f)
{
	return fd_stores_nothing(f);
}

#ifdef CKPT_LIB
int fd_inherit_capture(struct ckpt_fd *r)
{
	(void)r; /* fd, flags and kind are all it has */
	return 1;
}
#endif

#ifdef CKPT_STUB
void fd_inherit_restore(const struct ckpt_fd *f)
{
	set_some_status_flags(f, O_NONBLOCK);
}
#endif
