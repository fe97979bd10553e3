/*
 * The warning that the program took the checkpoint trigger for itself,
 * said once however it did so: by installing a handler or ignoring it
 * (sigaction.c), or by blocking it (sigmask.c).
 */
#include "ckpt_lib.h"
#include "../sys.h"

static int warned, warned_pid;

/* Once per process: the program took the trigger signal for itself. */
void warn_trigger_once(const char *what, const char *consequence)
{
	if (warned)
		return;
	warned = 1;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: ");
	line_str(&l, CKPT_STATUS_WARNING);
	line_str(&l, "the program ");
	line_str(&l, what);
	line_str(&l, " signal ");
	line_u64(&l, (uint64_t)ckpt_config.signal);
	line_str(&l, ", the checkpoint trigger; ");
	line_str(&l, consequence);
	line_str(&l, " (relaunch with --signal to pick a free one)");
	say(&l);
	/* A full-screen program (vim) draws over that line at once: the status
	 * line keeps it for `ckpt checkpoint`, and the exit repeats it. */
	status_note(l.buf + 6 /* without "ckpt: " */);
	warned_pid = (int)sys_getpid();
}

/* The last word once the program exits (not its forked children, which
 * run this too): by then its screen is gone and the advice can be read. */
__attribute__((destructor)) static void remind_at_exit(void)
{
	int pid = (int)sys_getpid();
	if (!warned || (pid != warned_pid && pid != ckpt_restart_info.new_pid))
		return;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: note: this program took signal ");
	line_u64(&l, (uint64_t)ckpt_config.signal);
	line_str(&l, ", the checkpoint trigger, for itself: a plain signal reached the program, not ckpt; "
		     "use `ckpt checkpoint PID`, or relaunch with --signal to pick a free one");
	say(&l);
}

void trigger_blocked_warning(void)
{
	warn_trigger_once("blocks", "a checkpoint waits until a thread unblocks it");
}
