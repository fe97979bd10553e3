/*
 * What the restart of a tree could not make again, checked on the final
 * listing while every member is stopped (docs/process-trees.md, step 2
 * and "Descriptors between members"), each refused in one line naming the
 * process:
 *  - a session or process group the restart cannot recreate: a member's
 *    session must be the root's, its own, or one an ancestor member leads;
 *    its group its own, the root's, or one another member of its session
 *    leads;
 *  - a process outside the tree in one of the tree's own groups (a double
 *    fork whose parent exited): the group could not be made whole again.
 *    The root's group is the shell's job, shared with whatever else the
 *    shell put in it (`ckpt prog | cat`), and is not checked;
 *  - memory shared between two processes of the tree that only a common
 *    mapping holds (MAP_SHARED|MAP_ANONYMOUS across fork, a memfd, a
 *    deleted file, SysV): each image would bring back a private copy.
 */
#include <fcntl.h>
#include <sys/mman.h>
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

int tree_check_groups(struct capture *c)
{
	int root = (int)sys_getpid(), root_pgid = (int)sys_getpgid(0), root_sid = (int)SYS1(__NR_getsid, 0);
	int other_groups = 0;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct ckpt_member *m = &c->members[i];
		if (m->sid != root_sid && !ancestor_in_tree(c, m, m->sid, root))
			return refuse_member(c, m, " is in session ", m->sid);
		const struct ckpt_member *leader = member_by_pid(c, m->pgid);
		if (m->pgid != m->pid && m->pgid != root_pgid && !(leader && leader->sid == m->sid) &&
		    !(m->pgid == root && m->sid == root_sid))
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

/* One shared mapping that only the processes mapping it share. */
struct shared_map {
	uint64_t dev, ino;
	int32_t pid;
	char path[52];
};
#define SHARED_MAPS_MAX 4096

static int only_mapping_shares(const struct maps_entry *e)
{
	if (!e->shared || !e->inode)
		return 0;
	return e->deleted || str_starts(e->path, "/SYSV") || str_starts(e->path, "/dev/zero");
}

static int refuse_shared(struct capture *c, const struct shared_map *a, const struct shared_map *b)
{
	struct proc_facts fa = {.pid = a->pid}, fb = {.pid = b->pid};
	proc_facts(c, a->pid, &fa);
	proc_facts(c, b->pid, &fb);
	c->error.len = 0;
	line_str(&c->error, "memory shared between ");
	name_process(&c->error, a->pid, fa.comm);
	line_str(&c->error, " and ");
	name_process(&c->error, b->pid, fb.comm);
	line_str(&c->error, " (");
	line_str(&c->error, a->path);
	line_str(&c->error, "): shared memory between the processes of a tree is not restored yet");
	return -1;
}

int tree_check_shared_memory(struct capture *c, uint64_t control_ino)
{
	uint64_t len = SHARED_MAPS_MAX * sizeof(struct shared_map);
	long m = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return capture_fail(c, "cannot map memory to compare the tree's mappings", m);
	struct shared_map *maps = (struct shared_map *)m;
	uint32_t n = 0;
	int rc = 0;
	for (uint32_t p = 0; p < c->tree->nlive && !rc; p++) {
		int pid = c->tree->live[p];
		struct line path = {.len = 0};
		line_str(&path, "/proc/");
		line_u64(&path, (uint64_t)pid);
		line_str(&path, "/maps");
		long size = read_proc_file(c, path.buf);
		const char *cur = c->text, *end = c->text + (size > 0 ? size : 0);
		uint32_t first = n;
		struct maps_entry e;
		while (!rc && maps_next(&cur, end, &e) > 0) {
			if (!only_mapping_shares(&e) || e.inode == control_ino)
				continue;
			uint64_t dev = (uint64_t)e.dev_major << 32 | e.dev_minor;
			struct shared_map here = {.dev = dev, .ino = e.inode, .pid = pid};
			int plen = e.path_len < (int)sizeof here.path - 1 ? e.path_len : (int)sizeof here.path - 1;
			__builtin_memcpy(here.path, e.path, (size_t)plen);
			for (uint32_t i = 0; i < first && !rc; i++)
				if (maps[i].dev == dev && maps[i].ino == e.inode)
					rc = refuse_shared(c, &maps[i], &here);
			if (!rc && n < SHARED_MAPS_MAX)
				maps[n++] = here;
		}
	}
	sys_munmap(maps, len);
	return rc;
}
