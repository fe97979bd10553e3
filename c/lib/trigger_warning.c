/*
 * The warnings that the program took the checkpoint trigger for itself:
 * by installing a handler or ignoring it (sigaction.c), so a plain signal
 * never checkpoints, or by blocking it (sigmask.c), so a checkpoint waits.
 * Each is said once. They are two: PostgreSQL's postmaster blocks every
 * signal first and installs its own SIGUSR2 handler after, and with one
 * warning for both its user read that `kill -USR2` would wait, while it
 * went to the postmaster for good.
 */
#include "ckpt_lib.h"
#include "../sys.h"

enum { BLOCKED = 1, TAKEN = 2 };
static int warned, warned_pid;

/* Once per process and way: the program took the trigger signal for itself. */
static void warn_trigger_once(int way, const char *what, const char *consequence)
{
	if (warned & way)
		return;
	warned |= way;
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
	 * line keeps it for `ckpt checkpoint`, and the exit repeats it. It
	 * holds one: the handler's, which matters more than a block, once said. */
	if (way == TAKEN || !(warned & TAKEN))
		status_note(l.buf + 6 /* without "ckpt: " */);
	warned_pid = (int)sys_getpid();
}

/* The last word once the program exits (not its forked children, which
 * run this too): by then its screen is gone and the advice can be read. */
__attribute__((destructor)) static void remind_at_exit(void)
{
	int pid = (int)sys_getpid();
	if (!(warned & TAKEN) || pid != warned_pid)
		return;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: note: this program took signal ");
	line_u64(&l, (uint64_t)ckpt_config.signal);
	line_str(&l, ", the checkpoint trigger, for itself: a plain signal reached the program, not ckpt; "
		     "use `ckpt checkpoint PID`, or relaunch with --signal to pick a free one");
	say(&l);
}

/* A restart without a pid namespace gave the root a new pid: the process
 * that was warned is still the one to remind. A tree's members keep
 * theirs, so a worker the warned parent forked stays silent at exit. */
void trigger_warning_pid_moved(int from, int to)
{
	if (warned_pid == from)
		warned_pid = to;
}

void trigger_blocked_warning(void)
{
	warn_trigger_once(BLOCKED, "blocks", "a checkpoint waits until a thread unblocks it");
}

void trigger_taken_warning(int ignored)
{
	warn_trigger_once(TAKEN, ignored ? "ignores" : "installed its own handler for",
			  "a plain signal now goes to the program, and `ckpt checkpoint PID` still checkpoints");
}
