#define _GNU_SOURCE
/*
 * CKPT_FD_TTY: terminals beyond fds 0-2 (`less` reads keys from /dev/tty
 * on fd 3). A restart takes fds 0-2 from the shell that runs it; a
 * descriptor on the same terminal beyond them comes back the same way:
 * /dev/tty, the restart's controlling terminal, reopened with the saved
 * flags and modes. That is only the same thing if the descriptor was the
 * controlling terminal: any other terminal (another pty, a pty master a
 * program drives) has no counterpart at restart and is refused by name.
 */
#include <fcntl.h>
#include <termios.h>
#include <sys/ioctl.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

const char *fd_tty_record_problem(const struct ckpt_fd *f)
{
	return fd_stores_nothing(f);
}

#ifdef CKPT_LIB
static int is_controlling_terminal(int fd)
{
	int pgrp, ptn;
	/* TIOCGPGRP answers ENOTTY on a terminal that is not ours; a pty
	 * master answers for its slave, so masters (TIOCGPTN) are ruled out. */
	return sys_ioctl(fd, TIOCGPGRP, &pgrp) == 0 && sys_ioctl(fd, TIOCGPTN, &ptn) < 0;
}

int fd_tty_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	struct termios t; /* glibc's struct matches the kernel's for TCGETS on x86-64 */
	if (!is_controlling_terminal(fd) || sys_ioctl(fd, TCGETS, &t) < 0)
		return drop_or_fail(c, fd, target, "a terminal that is not the program's controlling terminal");
	r->path_str = capture_string(c, target, str_len(target));
	__builtin_memcpy(&r->termios, &t, 36);
	r->termios.valid = 1;
	return 1;
}
#endif

#ifdef CKPT_STUB
/* The program's controlling terminal beyond fds 0-2: this restart's own
 * (its modes are set in phase 2, with those of 0-2, once nothing can fail
 * that would leave the shell's terminal changed). */
void fd_tty_restore(const struct ckpt_fd *f, const char *path)
{
	int flags = (int)(f->open_flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	long fd = sys_openat(AT_FDCWD, "/dev/tty", flags, 0);
	if (fd < 0) {
		struct line l = {.len = 0};
		line_str(&l, "fd ");
		line_u64(&l, (uint64_t)f->fd);
		line_str(&l, " was the program's terminal (");
		line_str(&l, path);
		line_str(&l, ") and this restart has no controlling terminal to give it; run ckpt restart in a terminal");
		die_line(&l);
	}
	int hi = to_high(fd, "cannot reopen", "/dev/tty");
	place(hi, f);
	sys_close(hi);
}

void fd_tty_restore_modes(const struct ckpt_fd *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (fds[i].kind == CKPT_FD_TTY && fds[i].termios.valid)
			sys_ioctl(fds[i].fd, 0x5402 /* TCSETS */, (void *)&fds[i].termios);
}
#endif
