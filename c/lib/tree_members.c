/*
 * Listing the tree (docs/process-trees.md, "Words" and step 2): every
 * process descended from the root, alive or a zombie, breadth first,
 * children by ascending pid, into c->members; and what makes a tree
 * impossible to checkpoint, refused at once by pid and name while
 * everything runs on.
 *
 * Then every process of the tree whose parent exited (tree_kin.c), and
 * what is below it, in the same order.
 *
 * Children are found without ptrace (tree_kids.c).
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "sort_records.h"
#include "tree.h"
#include "../sys.h"

static int refuse(struct capture *c, const struct proc_facts *f, const char *why)
{
	c->error.len = 0;
	name_process(&c->error, f->pid, f->comm);
	line_str(&c->error, why);
	return -1;
}

/* Whether PID was restarted by ckpt and runs on from an image: its
 * executable is still the stub (ckpt_protocol.h, CKPT_STUB_FILE). */
static int restarted_by_ckpt(int pid)
{
	struct line path = proc_path((uint64_t)pid, "exe");
	char target[CKPT_PATH_MAX];
	long n = sys_readlinkat(AT_FDCWD, path.buf, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	const char *base = target;
	for (long i = 0; i < n; i++)
		if (target[i] == '/')
			base = target + i + 1;
	return str_eq(base, CKPT_STUB_FILE);
}

/* Whether PID runs libckpt: /proc/PID/maps names either build of it, or it
 * was restarted by ckpt (its libckpt is anonymous memory now). A process
 * whose maps are empty is exiting (its memory goes before it is a zombie),
 * and one whose maps are gone has ended: either counts as running libckpt,
 * and the request finds it gone. Unreadable maps (a setuid program's) do
 * not. */
static int runs_libckpt(struct capture *c, int pid)
{
	if (restarted_by_ckpt(pid))
		return 1;
	struct line path = proc_path((uint64_t)pid, "maps");
	long len = read_proc_file(c, path.buf);
	if (len == 0 || len == -2 /* ENOENT */ || len == -3 /* ESRCH */)
		return 1;
	for (long i = 0; i < len; i++)
		if (c->text[i] == '/' && (str_starts(c->text + i + 1, CKPT_LIB_FILE "\n") ||
					  str_starts(c->text + i + 1, CKPT_LIB_MUSL_FILE "\n")))
			return 1;
	return 0;
}

/* Whether `pid` may be between an exec and its new program's libckpt:
 * it holds the trigger blocked (SigBlk: of its status), as exec.c does
 * across an exec until the next libckpt unblocks it, and its program has
 * a loader that can load libckpt (exec.c's own test: a static or setuid
 * program never will, and is refused at once). */
static int between_programs(struct capture *c, int pid)
{
	struct line path = proc_path((uint64_t)pid, "status");
	uint64_t blocked = 0;
	if (read_proc_file(c, path.buf) <= 0 || fdinfo_number(c->text, "SigBlk:\t", 16, &blocked) != 0 ||
	    !(blocked >> (ckpt_config.signal - 1) & 1))
		return 0;
	path = proc_path((uint64_t)pid, "exe");
	uint32_t libc = exec_libc_of_path(path.buf);
	return EXEC_LIBC(libc) && !(libc & EXEC_SECURE);
}

static const char without_ckpt[] = " runs without ckpt (a static or setuid program, or one started by a raw "
				   "execve): checkpoint when it has ended";

/* Whether PID still shares its parent's memory: a vfork child before its
 * exec (libiberty's pex, so every gcc driver, vforks to run cc1 and as).
 * Asked then, it would run the handler in its parent's memory while the
 * parent, held in vfork until the exec, could not answer: both wait out
 * the deadline. kcmp needs only what reading its /proc files needs;
 * without it (an old kernel), nothing is waited for, as before. */
static int shares_parent_memory(int pid, int ppid)
{
	return sys_kcmp(pid, ppid, 1 /* KCMP_VM */, 0, 0) == 0;
}

int tree_await_libckpt(struct capture *c, int pid, int ppid, uint64_t since_ns, uint64_t span_ns)
{
	struct proc_facts f = {.pid = pid};
	for (;;) {
		int vforked = shares_parent_memory(pid, ppid);
		if (!vforked && runs_libckpt(c, pid))
			return 0;
		if (proc_facts(c, pid, &f) || f.state == 'Z') /* the request then says it exited */
			return 0;
		if (!vforked && !between_programs(c, pid))
			return refuse(c, &f, without_ckpt);
		if (monotonic_ns() - since_ns > span_ns) {
			if (vforked) {
				refuse(c, &f, " still shares its parent's memory (vfork, or clone with CLONE_VM) after ");
				line_u64(&c->error, span_ns / 1000000000);
				line_str(&c->error, " s: checkpoint when it has exec'd or ended");
				return -1;
			}
			refuse(c, &f, " holds the checkpoint signal blocked and had not loaded ckpt after ");
			line_u64(&c->error, span_ns / 1000000000);
			line_str(&c->error, " s (started without ckpt's LD_PRELOAD by a raw execve, or by a loader "
					    "that ignores it): checkpoint when it has ended");
			return -1;
		}
		struct { long sec, nsec; } tick = {0, 2 * 1000 * 1000};
		sys_ppoll(0, 0, &tick);
	}
}

/* PID's tracer (TracerPid: of its status), or 0. */
static int tracer_of(struct capture *c, int pid)
{
	struct line path = proc_path((uint64_t)pid, "status");
	uint64_t tracer = 0;
	if (read_proc_file(c, path.buf) <= 0 || fdinfo_number(c->text, "TracerPid:\t", 10, &tracer) != 0)
		return 0;
	return (int)tracer;
}

/* Refuses F, traced by TRACER: a restart cannot attach a tracer again, and
 * the request would reach the tracer first (gdb stops its program and
 * reports the signal). */
static int refuse_traced(struct capture *c, const struct proc_facts *f, int tracer)
{
	struct proc_facts by;
	if (proc_facts(c, tracer, &by))
		by = (struct proc_facts){.pid = tracer, .comm = "?"};
	refuse(c, f, " is traced (ptrace) by ");
	name_process(&c->error, by.pid, by.comm);
	line_str(&c->error, ": a restart cannot trace it again; checkpoint when the debugger has let it go "
			    "(detach or kill)");
	return -1;
}

/* The rest of a "Key:\tvalue" line of a status text, into `out` of `size`
 * bytes; "" when there is none or it is too long to compare (then nothing
 * is refused). */
static void status_value(const char *text, const char *key, char *out, uint32_t size)
{
	const char *at = line_value(text, key);
	uint32_t n = 0;
	for (; at && at[n] && at[n] != '\n'; n++) {
		if (n + 1 == size) {
			n = 0;
			break;
		}
		out[n] = at[n];
	}
	out[n] = 0;
}

static const char inert_text[] = " was started after the program ckpt launched had exited, so ckpt stays out of it: "
				 "checkpoint when it has ended";
static const char other_ids_text[] = " runs under other user or group ids than the program ckpt launched: "
				     "such a member is not checkpointed";

/* What a live member's /proc/PID/status says against asking it, or 0:
 *  - libckpt loaded but inert: no handler for the trigger (SigCgt:) and
 *    the trigger not held blocked (SigBlk:, a constructor under way). A
 *    program started after the launched one had exited leaves it so
 *    (init.c): the tmux server a client left behind forks its panes'
 *    programs then. The request would end such a process;
 *  - other user or group ids than this process's (Uid:, Gid:: real,
 *    effective, saved, file system): nginx's workers, started as root,
 *    become nobody, and can no longer reach the root's files in /proc to
 *    answer; nor could a restart, which makes every member from the
 *    root's process, give back ids it may not set.
 * One read of each status; unreadable, the request itself will say. */
static const char *status_refusal(struct capture *c, int pid)
{
	char uid[96], gid[96], now[96]; /* room for four ids of ten digits */
	if (read_proc_file(c, "/proc/self/status") <= 0)
		return 0;
	status_value(c->text, "Uid:", uid, sizeof uid);
	status_value(c->text, "Gid:", gid, sizeof gid);
	struct line path = proc_path((uint64_t)pid, "status");
	if (read_proc_file(c, path.buf) <= 0)
		return 0;
	uint64_t caught = 0, blocked = 0, bit = 1ull << (ckpt_config.signal - 1);
	if (!restarted_by_ckpt(pid) && fdinfo_number(c->text, "SigCgt:\t", 16, &caught) == 0 &&
	    fdinfo_number(c->text, "SigBlk:\t", 16, &blocked) == 0 && !(caught & bit) && !(blocked & bit))
		return inert_text;
	status_value(c->text, "Uid:", now, sizeof now);
	if (uid[0] && now[0] && !str_eq(uid, now))
		return other_ids_text;
	status_value(c->text, "Gid:", now, sizeof now);
	return gid[0] && now[0] && !str_eq(gid, now) ? other_ids_text : 0;
}

/* A member that cannot take part, whatever else the tree holds. One
 * between an exec and its new program's libckpt (no libckpt in its maps
 * yet, the trigger held blocked, a dynamic program) takes part: tree.c
 * waits for it. */
static int refuse_member(struct capture *c, const struct proc_facts *f)
{
	if (f->state == 'Z')
		return 0; /* a zombie runs nothing: it is made again from its status */
	if (f->state == 'T' || f->state == 't') {
		int tracer = tracer_of(c, f->pid);
		return tracer ? refuse_traced(c, f, tracer)
			      : refuse(c, f, " is stopped (by a signal or a debugger): continue it, then checkpoint");
	}
	if (!runs_libckpt(c, f->pid) && !between_programs(c, f->pid))
		return refuse(c, f, without_ckpt);
	const char *why = status_refusal(c, f->pid);
	return why ? refuse(c, f, why) : 0;
}

static struct ckpt_member member_of(const struct proc_facts *f)
{
	struct ckpt_member m = {.pid = f->pid, .ppid = f->ppid, .pgid = f->pgid, .sid = f->sid};
	m.kind = f->state == 'Z' ? CKPT_MEMBER_ZOMBIE : CKPT_MEMBER_LIVE;
	m.wait_status = f->state == 'Z' ? f->exit_code : 0;
	__builtin_memcpy(m.comm, f->comm, sizeof m.comm);
	return m;
}

static int too_many(struct capture *c)
{
	c->error.len = 0;
	line_str(&c->error, "the tree has more processes than a checkpoint holds (");
	line_u64(&c->error, CKPT_MAX_MEMBERS);
	line_str(&c->error, ")");
	return 1;
}

static int is_member(const struct capture *c, int pid)
{
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].pid == pid)
			return 1;
	return 0;
}

struct orphan_scan {
	struct capture *c;
	int root, root_parent, failed;
	uint64_t root_started;
};

/* A process of the tree whose parent exited (tree_kin.c): a member, the
 * top of its own branch, its parent outside the tree. Its descendants
 * come in by their parent link, as the root's do. The restart can make
 * init its parent, not a subreaper that took it (systemd --user). */
static int orphan(int pid, void *ctx)
{
	struct orphan_scan *s = ctx;
	struct capture *c = s->c;
	if (pid == s->root || pid == s->root_parent || pid == previous_writer() || is_member(c, pid) ||
	    !of_this_tree(pid, s->root, s->root_started))
		return 0;
	struct proc_facts f;
	if (proc_facts(c, pid, &f))
		return 0;
	int settled = tree_settle_exit(c, &f); /* an exit on its way waited out */
	if (settled)
		return settled < 0 ? (s->failed = 1) : 0;
	if (f.state == 'Z' || f.ppid == s->root || is_member(c, f.ppid) ||
	    of_this_tree(f.ppid, s->root, s->root_started))
		return 0; /* gone, or about to be reaped by init; or its parent's listing takes it */
	if (str_eq(f.comm, "ckpt-writer"))
		return 0; /* an earlier checkpoint's background writer, still writing */
	if (c->nmembers + 1 >= CKPT_MAX_MEMBERS) {
		return s->failed = too_many(c);
	}
	if (f.ppid != 1) {
		refuse(c, &f, " was taken by subreaper ");
		line_u64(&c->error, (uint64_t)f.ppid);
		line_str(&c->error, " when its parent exited: a restart can make only init its parent; checkpoint "
				    "when it has ended");
		return s->failed = 1;
	}
	if (refuse_member(c, &f))
		return s->failed = 1;
	c->members[c->nmembers++] = member_of(&f);
	return 0;
}

/* Where a branch whose top lost its parent can be: the kernel gives an
 * orphan to the nearest subreaper above it, else to init, and above every
 * process of the tree are its members (listed by parent already) and the
 * root's ancestors. So the candidates are the children of the root's
 * ancestors, init included: a few /proc files, where looking at every
 * process on the machine cost 1.7-3.7 ms a checkpoint with 67 of them and
 * grows with the machine (docs/performance.md). They are walked upwards,
 * the way an orphan moves, then taken by ascending pid as before. Returns
 * 0, or -1 when the listing cannot tell (no CONFIG_PROC_CHILDREN, more
 * children than a listing holds, an ancestor unreadable): then every
 * process is looked at. */
static int orphans_by_ancestry(struct orphan_scan *s)
{
	static struct kids k, found; /* off the signal stack; the coordinator lock serialises */
	found = (struct kids){.n = 0};
	for (int a = s->root_parent; a > 0; a = a == 1 ? 0 : (int)proc_stat_field(a, 4)) {
		k = (struct kids){.c = s->c, .parent = a};
		if (read_children_files(&k) || k.overflow)
			return -1;
		for (uint32_t i = 0; i < k.n; i++)
			add_kid(&found, k.pids[i]);
		if (found.overflow)
			return -1;
	}
	sort_records_by_i32(found.pids, found.n, sizeof found.pids[0], 0);
	for (uint32_t i = 0; i < found.n && !s->failed; i++)
		orphan(found.pids[i], s);
	return 0;
}

/* After the listing, before anything is asked: a running member that a
 * process of this checkpoint traces (gdb running a program). A tracer
 * outside it (strace -p) only watches; the request passes through it. */
static int refuse_traced_members(struct capture *c)
{
	int root = (int)sys_getpid();
	for (uint32_t i = 0; i < c->nmembers; i++) {
		struct ckpt_member *m = &c->members[i];
		int tracer = m->kind == CKPT_MEMBER_LIVE ? tracer_of(c, m->pid) : 0;
		if (tracer && (tracer == root || is_member(c, tracer))) {
			struct proc_facts f = {.pid = m->pid};
			__builtin_memcpy(f.comm, m->comm, sizeof f.comm);
			return refuse_traced(c, &f, tracer);
		}
	}
	return 0;
}

int tree_list(struct capture *c)
{
	static struct kids k; /* 4 KiB of pids: off the signal stack; the coordinator lock serialises */
	c->nmembers = 0;
	for (int q = -1;;) {
		for (; q < (int)c->nmembers; q++) {
			if (q >= 0 && c->members[q].kind == CKPT_MEMBER_ZOMBIE)
				continue; /* its children went to a reaper when it exited */
			if (list_kids(c, q < 0 ? (int)sys_getpid() : c->members[q].pid, &k))
				return -1;
			for (uint32_t i = 0; i < k.n; i++) {
				struct proc_facts f;
				if (proc_facts(c, k.pids[i], &f))
					continue; /* gone and reaped since: not in the tree any more */
				int settled = tree_settle_exit(c, &f);
				if (settled < 0)
					return -1;
				if (settled)
					continue;
				if (k.overflow || c->nmembers + 1 >= CKPT_MAX_MEMBERS) {
					return -too_many(c);
				}
				if (refuse_member(c, &f))
					return -1;
				c->members[c->nmembers++] = member_of(&f);
			}
		}
		/* Then the branches whose top lost its parent, by ascending pid. */
		uint32_t before = c->nmembers;
		struct orphan_scan s = {.c = c, .root = (int)sys_getpid(), .root_parent = (int)sys_getppid()};
		s.root_started = process_started(s.root);
		if (orphans_by_ancestry(&s) < 0 && !s.failed)
			for_each_numbered_entry("/proc", orphan, &s);
		if (s.failed)
			return -1;
		if (c->nmembers == before)
			return refuse_traced_members(c);
	}
}
