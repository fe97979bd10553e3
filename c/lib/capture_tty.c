/*
 * Terminals beyond fds 0-2 (`less` reads keys from /dev/tty on fd 3). A
 * restart takes fds 0-2 from the shell that runs it; a descriptor on the
 * same terminal beyond them comes back the same way: /dev/tty, the
 * restart's controlling terminal, reopened with the saved flags and modes.
 * That is only the same thing if the descriptor was the controlling
 * terminal: any other terminal (another pty, a pty master a program
 * drives) has no counterpart at restart and is refused by name.
 */
#define _GNU_SOURCE
#include <termios.h>
#include <sys/ioctl.h>
#include "ckpt_lib.h"
#include "../sys.h"

int is_controlling_terminal(int fd)
{
	int pgrp, ptn;
	/* TIOCGPGRP answers ENOTTY on a terminal that is not ours; a pty
	 * master answers for its slave, so masters (TIOCGPTN) are ruled out. */
	return sys_ioctl(fd, TIOCGPGRP, &pgrp) == 0 && sys_ioctl(fd, TIOCGPTN, &ptn) < 0;
}

int capture_tty(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	struct termios t; /* glibc's struct matches the kernel's for TCGETS on x86-64 */
	if (!is_controlling_terminal(fd) || sys_ioctl(fd, TCGETS, &t) < 0)
		return 0;
	r->kind = CKPT_FD_TTY;
	r->path_str = capture_string(c, target, str_len(target));
	__builtin_memcpy(&r->termios, &t, 36);
	r->termios.valid = 1;
	return 1;
}
