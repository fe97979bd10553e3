/* A terminal beyond fds 0-2. `tty-beyond devtty` opens /dev/tty (as less
 * does), turns echo off through it and reports each step whether that fd
 * is still a terminal, still the controlling one, with echo still off:
 * after a restart on a new terminal it must be that terminal, reopened,
 * with the program's modes. `tty-beyond master` holds a pty master, which
 * no restart can give back: the checkpoint must refuse it by name. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int master = argc > 1 && strcmp(argv[1], "master") == 0;
	int fd = master ? posix_openpt(O_RDWR | O_NOCTTY) : open("/dev/tty", O_RDWR);
	if (fd < 0) {
		printf("cannot open a terminal\n");
		return 2;
	}
	struct termios t;
	if (!master) {
		tcgetattr(fd, &t);
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSANOW, &t);
	}
	for (int i = 0; i < 12; i++) {
		int tty = isatty(fd), ctty = tcgetpgrp(fd) == getpgrp();
		int echo = tcgetattr(fd, &t) == 0 && (t.c_lflag & ECHO);
		printf("step %d: fd %d tty=%d controlling=%d echo %s\n", i, fd, tty, ctty, echo ? "ON" : "off");
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
