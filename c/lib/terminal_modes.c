/*
 * The terminal between a stop and a restart. A full-screen program leaves
 * its terminal raw (no echo, no line editing, no output processing); when
 * it stops with a checkpoint, the shell would go on in those modes
 * (staircase output, typed text invisible). So the modes fds 0-2 had when
 * the program was launched (after a restart: the ones the stub found,
 * the shell's) are put back as it stops; the program's own are in the
 * image and the stub sets them again at restart. The restarted program
 * then gets SIGWINCH, as after a resize, so it redraws its screen on the
 * new terminal and reads that terminal's size (DMTCP does the same).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../sys.h"

static struct ckpt_termios launch[3];
static uint64_t launch_rdev[3];

static uint64_t terminal_of(int fd)
{
	struct stat st;
	return sys_fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) ? st.st_rdev : 0;
}

static void note_devices(void)
{
	for (int fd = 0; fd < 3; fd++)
		launch_rdev[fd] = launch[fd].valid ? terminal_of(fd) : 0;
}

void terminal_note_launch(void)
{
	for (int fd = 0; fd < 3; fd++)
		launch[fd].valid = sys_ioctl(fd, 0x5401 /* TCGETS */, &launch[fd]) == 0;
	note_devices();
}

/* In the foreground only: a program in the background (`ckpt prog &`)
 * shares the terminal with the shell, whose modes are the ones in force
 * (our handler blocks SIGTTOU, so the kernel would let us change them).
 * And only on the terminal the modes came from: the program may have put
 * a file or another terminal on fds 0-2 since. */
static int in_foreground(int fd)
{
	int pgrp;
	return sys_ioctl(fd, 0x540F /* TIOCGPGRP */, &pgrp) == 0 && pgrp == (int)sys_getpgid(0);
}

void terminal_restore_launch(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (launch[fd].valid && launch_rdev[fd] && terminal_of(fd) == launch_rdev[fd] && in_foreground(fd))
			sys_ioctl(fd, 0x5402 /* TCSETS */, &launch[fd]);
}

/* In the coordinator after a restart, with every signal blocked: the
 * SIGWINCH is delivered once the program's own mask is back. */
void terminal_after_restart(void)
{
	int any = 0;
	for (int fd = 0; fd < 3; fd++) {
		launch[fd] = ckpt_restart_info.shell_termios[fd];
		any |= launch[fd].valid;
	}
	note_devices();
	if (any)
		sys_kill((int)sys_getpid(), SIGWINCH);
}
