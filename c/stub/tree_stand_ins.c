/*
 * What a tree's restart makes besides parents and children
 * (docs/process-trees.md, "Orphans and gone leaders"):
 *
 *  - a member whose parent exited (ppid 1: the kernel gave it to init) is
 *    made by a go-between that a process of its session clones, that
 *    clones the member at its pid, and that exits at once: the member is
 *    init's child, in the session it was in, before anything of it runs;
 *  - a session whose leader is gone gets a stand-in at the leader's pid
 *    (cloned by the root, setsid), which makes what belongs in it; a
 *    process group whose leader is gone gets one too (setpgid(0, 0)),
 *    cloned by a process of the group's session before anything joins it,
 *    and every member of that group joins it as soon as it exists.
 *
 * "A process of the session" is its holder: the root for the root's
 * session, the live member leading it, or its stand-in. Stand-ins and
 * go-betweens are cloned with exit signal 0 and reaped with __WALL by
 * whoever cloned them: no SIGCHLD, no wait result a program could see.
 * Every stand-in ends once barrier 1 is passed (every process exists and
 * every member of a stand-in's group joined it at creation), before
 * barrier 2 lets any program run: its holder sends SIGTERM, which it
 * waits for (the stub blocks every signal), and reaps it.
 */
#include <signal.h>
#include <linux/prctl.h>
#include "tree.h"
#include "../sys.h"

#define WALL 0x40000000

static int32_t held[CKPT_MAX_MEMBERS]; /* the stand-ins this process cloned */
static uint32_t nheld;

static const struct ckpt_header *root(void)
{
	return tree.proc[0].hdr;
}

static int process_at(int32_t pid)
{
	for (uint32_t p = 0; p < tree.n; p++)
		if (tree.proc[p].pid == pid)
			return 1;
	return 0;
}

int group_stands_in(int32_t pgid, int32_t sid)
{
	return pgid != root()->pgid && pgid != sid && !process_at(pgid);
}

static int session_stands_in(int32_t sid)
{
	return sid != root()->sid && !process_at(sid);
}

/* The process that makes what joins session `sid`. */
static int32_t session_holder(int32_t sid)
{
	return sid == root()->sid ? root()->pid : sid;
}

static const struct ckpt_member *member(uint32_t i)
{
	return tree.proc[i].member;
}

/* Whether member i is the first with this session (by_group 0) or group
 * (1) stand-in, so each is made once. */
static int first_with(uint32_t i, int by_group)
{
	for (uint32_t j = 1; j < i; j++)
		if (by_group ? member(j)->pgid == member(i)->pgid : member(j)->sid == member(i)->sid)
			return 0;
	return 1;
}

__attribute__((noreturn)) void cannot_create(const struct ckpt_member *m, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "cannot create pid ");
	line_i64(&l, m->pid);
	line_str(&l, " (");
	line_str(&l, m->comm[sizeof m->comm - 1] ? "?" : m->comm);
	line_str(&l, ") at its old pid: ");
	/* EAGAIN from clone is the user's process limit (a fork bomb's own
	 * RLIMIT_NPROC is in its image, not in force here yet). */
	line_str(&l, err == -11 ? "this user may not have more processes (RLIMIT_NPROC: raise ulimit -u)" : errno_text(err));
	die_line(&l);
}

/* clone's answer; in the child, the creator's stand-ins are not ours to end. */
static long held_by_creator(long child)
{
	if (child == 0)
		nheld = 0;
	return child;
}

static long clone_quiet_at(int32_t pid)
{
	struct clone3_args a = {.exit_signal = 0, .set_tid = (uint64_t)&pid, .set_tid_size = pid ? 1 : 0};
	if (!pid)
		a.set_tid = 0;
	return held_by_creator(sys_clone3(&a, sizeof a));
}

/* A go-between, at a pid above every one the tree needs. */
static long clone_go_between(void)
{
	return held_by_creator(clone_helper(0));
}

/* A go-between or stand-in that failed noted its line to the root (it
 * takes the index of a member it was making), which ends the restart. */
static void reap(long pid)
{
	int status = 0;
	while (sys_wait4((int)pid, &status, WALL) == -4 /* EINTR */)
		;
}

/* Member i, whose parent exited: init's child, through a go-between. */
static uint32_t create_orphan(uint32_t i)
{
	long between = clone_go_between();
	if (between < 0)
		cannot_create(member(i), between);
	if (between > 0) {
		reap(between);
		return 0;
	}
	restart.tree_index = i; /* a refusal from here reaches the root */
	int32_t pid = member(i)->pid;
	struct clone3_args a = {.exit_signal = SIGCHLD, .set_tid = (uint64_t)&pid, .set_tid_size = 1};
	long child = sys_clone3(&a, sizeof a);
	if (child == 0)
		return i;
	if (child < 0)
		cannot_create(member(i), child);
	sys_exit_group(0);
}

static __attribute__((noreturn)) void stand_in_until_released(void)
{
	const uint64_t term = 1ull << (SIGTERM - 1);
	char info[128];
	while (sys_rt_sigtimedwait(&term, info, 0) != SIGTERM)
		;
	end_stand_ins();
	sys_exit_group(0);
}

/* A stand-in at `pid` leading a session (setsid) or a group, for member
 * i among others. Returns only in the creator (0), or in an orphan the
 * session's stand-in made (its index). */
static uint32_t create_stand_in(int32_t pid, int session, uint32_t i)
{
	long child = clone_quiet_at(pid);
	if (child > 0) {
		/* A group's stand-in leads it before the creator goes on to make
		 * what joins it, or that join could come first (EPERM: no such
		 * group yet). Both sides set it, as a shell does for a job; a
		 * session's members are made by its stand-in, after its setsid. */
		long err = session ? 0 : sys_setpgid((int)child, (int)child);
		held[nheld++] = pid;
		if (err < 0)
			die("cannot make a stand-in lead its group", err);
		return 0;
	}
	if (child == 0)
		restart.tree_index = i; /* a refusal from here reaches the root */
	if (child < 0) {
		struct line l = {.len = 0};
		line_str(&l, "cannot create a stand-in for the gone leader of ");
		line_str(&l, session ? "session " : "process group ");
		line_i64(&l, pid);
		line_str(&l, " at its pid: ");
		line_str(&l, errno_text(child));
		die_line(&l);
	}
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-stand-in", 0, 0, 0);
	long err = session ? sys_setsid() : sys_setpgid(0, 0);
	if (err < 0)
		die("cannot make a stand-in lead its session or group", err);
	uint32_t made = session ? make_held(pid) : 0;
	if (session && !made)
		made = make_orphans(pid);
	if (made)
		return made;
	stand_in_until_released();
}

uint32_t make_held(int32_t holder)
{
	uint32_t made = 0;
	for (uint32_t i = 1; i < tree.n && !made && holder == root()->pid; i++)
		if (session_stands_in(member(i)->sid) && first_with(i, 0))
			made = create_stand_in(member(i)->sid, 1, i);
	for (uint32_t i = 1; i < tree.n && !made; i++)
		if (group_stands_in(member(i)->pgid, member(i)->sid) && session_holder(member(i)->sid) == holder &&
		    first_with(i, 1))
			made = create_stand_in(member(i)->pgid, 0, i);
	return made;
}

uint32_t make_orphans(int32_t holder)
{
	uint32_t made = 0;
	for (uint32_t i = 1; i < tree.n && !made; i++) {
		const struct ckpt_member *m = member(i);
		int32_t maker = m->sid == m->pid ? root()->pid : session_holder(m->sid);
		if (member_orphaned(root(), m) && maker == holder)
			made = create_orphan(i);
	}
	return made;
}

void end_stand_ins(void)
{
	for (uint32_t i = 0; i < nheld; i++)
		sys_kill(held[i], SIGTERM);
	for (uint32_t i = 0; i < nheld; i++)
		reap(held[i]);
	nheld = 0;
}
