/*
 * What the restart of a tree could not make again, checked on the final
 * listing while every member is stopped (docs/process-trees.md, step 2
 * and "Descriptors between members"), each refused in one line naming the
 * process:
 *  - a session or process group the restart cannot recreate: a member's
 *    session must be the root's, its own, its parent's, or one an ancestor
 *    member leads; its group its own, the root's, or one another member of
 *    its session leads. A member whose parent exited (ppid 1: tree_kin.c)
 *    may be in any session a live member leads. A session or group whose
 *    leader is gone (no process has its pid) is made again by a stand-in
 *    that exits before the program runs (c/stub/tree_stand_ins.c); one led
 *    by a process outside the tree, or a session whose leader is a zombie
 *    with orphans in it, is refused;
 *  - a process outside the tree in one of the tree's own groups (not of
 *    the tree: without ckpt, or another user's; a double fork of the tree
 *    is a member): the group could not be made whole again.
 *    The root's group is the shell's job, shared with whatever else the
 *    shell put in it (`ckpt prog | cat`), and is not checked.
 * Memory the members share is tree_shared_memory.c's.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../maps.h"
#include "../sys.h"

static const struct ckpt_member *member_by_pid(const struct capture *c, int pid)
{
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].pid == pid)
			return &c->members[i];
	return 0;
}

/* Whether `pid` is `m` itself or one of its ancestors within the tree. */
static int ancestor_in_tree(const struct capture *c, const struct ckpt_member *m, int pid, int root)
{
	for (const struct ckpt_member *a = m; a; a = member_by_pid(c, a->ppid))
		if (a->pid == pid || a->ppid == pid)
			return 1;
	return pid == root;
}

static int refuse_member(struct capture *c, const struct ckpt_member *m, const char *what, int id)
{
	c->error.len = 0;
	name_process(&c->error, m->pid, m->comm);
	line_str(&c->error, what);
	line_u64(&c->error, (uint64_t)id);
	line_str(&c->error, " led by a process outside the tree: the restart could not make it again");
	return -1;
}

struct outsider_scan {
	struct capture *c;
	int root_pgid;
	int found, group;
	struct proc_facts f;
};

static int outsider(int pid, void *ctx)
{
	struct outsider_scan *s = ctx;
	struct capture *c = s->c;
	if (pid == (int)sys_getpid() || member_by_pid(c, pid))
		return 0;
	int pgid = (int)proc_stat_field(pid, 5);
	if (!pgid || pgid == s->root_pgid)
		return 0;
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].pgid == pgid && proc_facts(c, pid, &s->f) == 0) {
			s->found = 1, s->group = pgid;
			return 1;
		}
	return 0;
}

/* Whether no process has the pid that leads `id`: its group or session
 * is made again around a stand-in at that pid. */
static int leader_gone(const struct capture *c, int id)
{
	return !member_by_pid(c, id) && id != (int)sys_getpid() && proc_stat_field(id, 5) != (uint64_t)id &&
	       proc_stat_field(id, 6) != (uint64_t)id;
}

/* Whether the restart has a process in session `sid` to make what joins
 * it (a member whose parent exited, a group whose leader is gone): the
 * root, a live member leading it, or a stand-in at its gone leader's pid. */
static int session_can_hold(const struct capture *c, int sid, int root_sid)
{
	const struct ckpt_member *leader = member_by_pid(c, sid);
	return sid == root_sid || (leader && leader->kind == CKPT_MEMBER_LIVE && leader->sid == sid) || leader_gone(c, sid);
}

int tree_check_groups(struct capture *c)
{
	int root = (int)sys_getpid(), root_pgid = (int)sys_getpgid(0), root_sid = (int)SYS1(__NR_getsid, 0);
	int other_groups = 0;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct ckpt_member *m = &c->members[i];
		const struct ckpt_member *parent = member_by_pid(c, m->ppid);
		int orphan = !parent && m->ppid != root;
		if (orphan ? m->sid != m->pid && !session_can_hold(c, m->sid, root_sid)
			   : m->sid != root_sid && !ancestor_in_tree(c, m, m->sid, root) && !(parent && parent->sid == m->sid))
			return refuse_member(c, m, " is in session ", m->sid);
		const struct ckpt_member *leader = member_by_pid(c, m->pgid);
		if (m->pgid != m->pid && m->pgid != root_pgid && !(leader && leader->sid == m->sid) &&
		    !(m->pgid == root && m->sid == root_sid) &&
		    !(leader_gone(c, m->pgid) && session_can_hold(c, m->sid, root_sid)))
			return refuse_member(c, m, " is in process group ", m->pgid);
		other_groups |= m->pgid != root_pgid;
	}
	if (!other_groups)
		return 0;
	struct outsider_scan s = {.c = c, .root_pgid = root_pgid};
	for_each_numbered_entry("/proc", outsider, &s);
	if (!s.found)
		return 0;
	c->error.len = 0;
	name_process(&c->error, s.f.pid, s.f.comm);
	line_str(&c->error, " is in process group ");
	line_u64(&c->error, (uint64_t)s.group);
	line_str(&c->error, " of the tree but not in the tree (its parent exited): the restart could not make the group whole");
	return -1;
}
