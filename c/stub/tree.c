/*
 * A process tree made again inside the pid namespace (docs/process-trees.md,
 * "Restart", steps 3 and 4), in the root's process at its old pid, before
 * its own restore. The root parks what processes share (tree_shared.c) and
 * the barrier pipes (tree_barrier.c) above every descriptor any of them
 * had, then makes its children with clone3 at their old pids; each child
 * makes its own the same way, in tree order, so every parent is the real
 * one (waitpid on the pids fork returned, getppid, SIGCHLD all hold).
 * Members whose parent exited, and stand-ins for gone group and session
 * leaders, are tree_stand_ins.c's, made by each process it names holder.
 *
 * Right after its creation a member leads its session (setsid) or its
 * group (setpgid) if it did; joining another's group waits for barrier 1,
 * when every leader exists. A zombie takes its group, then ends as its
 * image says, for its parent to collect after the restart; the parent
 * waits until it has ended and discards the SIGCHLD that raised (the
 * image's own pending signals come back in phase 2). A live member loads
 * its own image (checked again against the member table: the files may
 * have changed since validate_tree), makes its children, and returns to
 * restore itself as a single process would, with the parked descriptors.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <linux/prctl.h>
#include "tree.h"
#include "../sys.h"

#define P_PID 1
#define WEXITED 4
#define WNOWAIT 0x01000000

static long sys_waitid(int which, int id, void *info, int options)
{
	return SYS5(__NR_waitid, which, id, info, options, 0);
}

/* The highest descriptor number any process of the tree had, or the root's image fd. */
static int highest_fd(void)
{
	int top = restart.image_fd > 2 ? restart.image_fd : 2;
	for (uint32_t p = 0; p < tree.n; p++) {
		const struct tree_process *t = &tree.proc[p];
		if (!t->hdr)
			continue;
		const struct ckpt_fd *f = (const void *)(t->tables + t->hdr->fds_off);
		for (uint32_t i = 0; i < t->hdr->nfds; i++)
			if (f[i].fd > top)
				top = f[i].fd;
	}
	return top;
}

/* A zombie child has ended: its SIGCHLD, ours from the restart, not the program's. */
static void let_zombie_end(int32_t pid)
{
	char info[128];
	long err;
	while ((err = sys_waitid(P_PID, pid, info, WEXITED | WNOWAIT)) == -4 /* EINTR */)
		;
	if (err < 0)
		die("cannot see a zombie of the tree end", err);
	const uint64_t chld = 1ull << (SIGCHLD - 1);
	const struct { int64_t sec, nsec; } now = {0, 0};
	while (sys_rt_sigtimedwait(&chld, info, &now) == SIGCHLD)
		;
}

/* Makes proc's children, and what it holds (tree_stand_ins.c: stand-ins
 * for gone leaders, the members of its session whose parent exited);
 * returns in each member made its index, in proc (once all exist) proc's. */
static uint32_t create_children(uint32_t proc)
{
	uint32_t made = make_held(tree.proc[proc].pid);
	if (made)
		return made;
	const struct ckpt_member *self = tree.proc[proc].member;
	if (self && group_stands_in(self->pgid, self->sid) && sys_getpgid(0) != self->pgid) {
		/* now, while its stand-in leader lives (until barrier 1), which it
		 * may have made itself just now as its session's leader */
		long err = sys_setpgid(0, self->pgid);
		if (err < 0)
			die("cannot join its process group again (its leader is a stand-in)", err);
	}
	for (uint32_t i = 1; i < tree.n; i++) {
		const struct ckpt_member *m = tree.proc[i].member;
		if (m->ppid != tree.proc[proc].pid)
			continue;
		int32_t pid = m->pid;
		struct clone3_args a = {.exit_signal = SIGCHLD, .set_tid = (uint64_t)&pid, .set_tid_size = 1};
		long child = sys_clone3(&a, sizeof a);
		if (child == 0)
			return i;
		if (child < 0)
			cannot_create(m, child);
		if (m->kind == CKPT_MEMBER_ZOMBIE)
			let_zombie_end(pid);
	}
	made = make_orphans(tree.proc[proc].pid);
	return made ? made : proc;
}

/* The first thing member `index` does: its session or group, then, a
 * zombie, its end. */
static void start_member(uint32_t index)
{
	const struct ckpt_member *m = tree.proc[index].member;
	restart.tree_index = index;
	judge_member(m, tree.root_strings); /* every refusal from here on names it */
	if (m->kind == CKPT_MEMBER_LIVE)
		note_to_root(TREE_NOTE_CREATED);
	long err = 0;
	if (m->sid == m->pid)
		err = sys_setsid();
	else if (m->pgid == m->pid)
		err = sys_setpgid(0, 0);
	if (err < 0)
		die("cannot lead its session or process group again", err);
	if (m->kind == CKPT_MEMBER_LIVE)
		return;
	int32_t group = group_after_restart(m->pgid);
	err = sys_getpgid(0) == group ? 0 : sys_setpgid(0, group);
	if (err < 0)
		die("cannot put a zombie in its process group again (its leader comes later in the tree)", err);
	char comm[sizeof m->comm + 1] = {0}; /* its name, as ps and its parent's /proc/PID/stat show it */
	__builtin_memcpy(comm, m->comm, sizeof m->comm);
	sys_prctl(PR_SET_NAME, (unsigned long)comm, 0, 0, 0);
	exit_like(m->wait_status);
}

void restore_tree(struct ckpt_header *hdr, char **tables)
{
	if (!tree.n)
		return;
	int base = highest_fd() + 1;
	sys_close_range((unsigned)base, ~0u); /* whatever the restart passed up there */
	tree_parking_begin();
	int next = base;
	park_socket_pairs(&next); /* first: a connection with a name is made through a listener bound there for a moment */
	next = park_shared_memory(park_shared(next));
	next = make_barrier_pipes(next);
	int terminal = namespace_terminal_fd();
	if (terminal >= 0) {
		long fd = sys_fcntl(terminal, 1030 /* F_DUPFD_CLOEXEC */, next);
		set_tree_terminal(fd >= 0 ? (int)fd : -1);
		next = fd >= 0 ? (int)fd + 1 : next;
	}
	restart.keep_lo = base, restart.keep_hi = next;
	uint32_t me = 0;
	for (uint32_t child; (child = create_children(me)) != me;) {
		me = child;
		start_member(me);
		char *t;
		load_member_image(tree.proc[0].hdr, tree.proc[0].tables, tree.proc[me].member, hdr, &t);
		*tables = t;
	}
	close_barrier_ends(me == 0);
}
