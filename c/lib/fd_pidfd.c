/*
 * A pidfd (pidfd_open, clone's CLONE_PIDFD) names one process for good.
 * None can come back: the restarted program is a new process (with its
 * old pid only inside a pid namespace), so a pidfd on itself would name a
 * process that is gone, and any
 * other process is not part of the checkpoint (children are refused
 * outright, children.c). So it is dropped or refused like any descriptor
 * no kind restores, with a reason that names the process it points at.
 */
#include "ckpt_lib.h"
#include "../sys.h"

int refuse_pidfd(struct capture *c, int fd, const char *target)
{
	struct line why = {.len = 0};
	uint64_t pid = 0;
	long len = read_fdinfo(c, fd);
	/* "Pid: -1" once the process is gone (and reaped): no digits to read */
	int known = len > 0 && fdinfo_number(c->text, "Pid:", 10, &pid) == 0 && pid > 0;
	if (!known)
		line_str(&why, "a pidfd on a process that has exited");
	else if ((int)pid == (int)sys_getpid())
		line_str(&why, "a pidfd on the program itself, and a restart makes a new process that no old pidfd names");
	else {
		line_str(&why, "a pidfd on process ");
		line_u64(&why, pid);
		line_str(&why, ", which is not checkpointed with the program");
	}
	return drop_or_fail(c, fd, target, why.buf);
}
