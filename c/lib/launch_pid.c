/* The launched process's pid, which a restart changes: in ckpt_config for
 * the handler, and in CKPT_PID's text for whatever the program execs next. */
#include "ckpt_lib.h"

/* CKPT_PID's text, CKPT_PID_DIGITS wide: rewritten in place after a
 * restart (new pid), so a later exec passes on the right one. */
static char *pid_text;

void launch_pid_text(char *text)
{
	pid_text = text;
}

void launch_pid_moved(int pid)
{
	ckpt_config.pid = pid;
	if (!pid_text)
		return;
	for (int i = CKPT_PID_DIGITS - 1; i >= 0; i--, pid /= 10)
		pid_text[i] = (char)('0' + pid % 10);
}
