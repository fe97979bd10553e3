/*
 * A daemon: the program ckpt launched forked and exited (ssh-agent,
 * `gpg-agent --daemon`, daemon(3), `sh -c 'prog &'`), and what it left
 * running carries libckpt as a member of a tree whose root is gone. A
 * trigger reaching such a process makes it the root of its own checkpoint
 * (docs/process-trees.md, "Daemons"): CKPT_PID's text and the status line
 * become its own, so `ckpt checkpoint PID` treats it as launched, and its
 * image goes to the run's image path with CKPT_HEADER_DAEMON, so the
 * restart makes it a session leader without a terminal and returns to the
 * shell once it is back.
 *
 * Exact or refused, before anything stops, the daemon running on:
 *  - it must lead its own session (setsid, as daemon(3) does): one still in
 *    the launch's session and group would come back in the restart's;
 *  - no other process left running by the same launch, outside its own
 *    descendants: both would write the one image path.
 * What it forked comes with it as its tree: their CKPT_PID still names the
 * exited root, so a member takes the tree request from an ancestor once
 * that root is gone (tree_request in tree_member.c).
 * Its descriptors 0-2 are what they are (/dev/null is reopened, a terminal
 * or a pipe to a live process refused): the launch's shell is not the
 * restart's, so none is taken from `ckpt restart` (capture_fds.c); any
 * other the launch passed and it still holds is dropped with a warning,
 * as the launched program's would be.
 */
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

static int exited_root; /* CKPT_PID before this process took it over */
static uint64_t launch_std_fds; /* the launch's 0-2 bits, given back on a refusal */

int launch_root_exited(void)
{
	int root = ckpt_config.pid;
	/* A process at its pid that started after this one is another (the
	 * pid was reused); /proc/PID/stat stays readable when environ is not. */
	return process_gone(root) || process_started(root) > process_started((int)sys_getpid());
}

void daemon_adopt(void)
{
	exited_root = ckpt_config.pid;
	ckpt_config.daemon_root = 1;
	launch_pid_moved((int)sys_getpid());
	/* Its 0-2 are its own now (daemon(3) put /dev/null there); others the
	 * launch passed are dropped at restart with a warning, as the root's. */
	launch_std_fds = ckpt_config.inherited_fds[0] & 7;
	ckpt_config.inherited_fds[0] &= ~7ull;
	status_set(CKPT_STATE_RUNNING, "");
}

/* Refused: it stays a member of the exited root's run, so that a program
 * it execs next does not start as a launched root (exec.c passes CKPT_PID
 * on), and `ckpt checkpoint` reads its failure from the block all the same. */
static void daemon_give_up(void)
{
	ckpt_config.daemon_root = 0;
	launch_pid_moved(exited_root);
	ckpt_config.inherited_fds[0] |= launch_std_fds;
}

static int descends_from(int pid, int ancestor)
{
	for (int p = pid; p > 1; p = (int)proc_stat_field(p, 4))
		if (p == ancestor)
			return 1;
	return 0;
}

/* Another live process the same launch left running, not below this one. */
static int note_other(int pid, void *ctx)
{
	int *other = ctx;
	int self = (int)sys_getpid();
	if (pid != self && !process_gone(pid) && environ_root(pid) == exited_root && !descends_from(pid, self))
		*other = pid;
	return *other != 0; /* the first one ends the scan */
}

static int refuse(struct capture *c, const char *why, int pid, const char *after)
{
	c->error.len = 0;
	line_str(&c->error, "process ");
	line_u64(&c->error, (uint64_t)sys_getpid());
	line_str(&c->error, ", left running by the program ckpt launched (process ");
	line_u64(&c->error, (uint64_t)exited_root);
	line_str(&c->error, ", exited), ");
	line_str(&c->error, why);
	if (pid) {
		struct proc_facts f = {.pid = pid};
		proc_facts(c, pid, &f);
		name_process(&c->error, pid, f.comm);
	}
	line_str(&c->error, after);
	daemon_give_up();
	return -1;
}

int daemon_refusal(struct capture *c)
{
	if (!ckpt_config.daemon_root)
		return 0;
	int self = (int)sys_getpid();
	long sid = SYS1(__NR_getsid, 0);
	if (sid != self) {
		struct line why = {.len = 0};
		line_str(&why, "is still in the launch's session ");
		line_u64(&why, (uint64_t)sid);
		line_str(&why, ": only a daemon that called setsid() is checkpointed on its own");
		return refuse(c, why.buf, 0, "");
	}
	int other = 0;
	for_each_numbered_entry("/proc", note_other, &other);
	if (other)
		return refuse(c, "is not the only one: ", other,
			      " was left running by it too, and both would write the one image");
	return 0;
}
