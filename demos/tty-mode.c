/* Turns terminal echo off on its stdin, then reports each step whether it
 * is still off: after a restart in a new terminal, ckpt must have put the
 * program's terminal settings back. */
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	struct termios t;
	if (tcgetattr(0, &t) != 0) {
		printf("stdin is not a terminal\n");
		return 2;
	}
	t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(0, TCSANOW, &t);
	for (int i = 0; i < 8; i++) {
		tcgetattr(0, &t);
		printf("step %d: echo %s\n", i, t.c_lflag & ECHO ? "ON" : "off");
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
