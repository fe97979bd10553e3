/*
 * Refusing a program that has child processes. A child is a process of its
 * own that the image cannot hold: after a restart the program's waitpid()
 * would fail with ECHILD and a zombie's exit status would be lost. Until
 * process trees are supported, any child, running, stopped or exited but
 * not yet reaped, fails the checkpoint before anything is written, by pid
 * and name, and the program runs on.
 *
 * Children are found without ptrace: /proc/self/task/T/children for every
 * thread (a child belongs to the thread that forked it), or, on a kernel
 * built without CONFIG_PROC_CHILDREN, every /proc/PID/stat whose parent is
 * this process. libckpt's own background writer is left out: it is an
 * orphan reaped by init, which becomes ours only if the program is a child
 * subreaper.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

struct found {
	struct capture *c;
	struct line list;
	int count;
	int self;
};

/* Adds "PID (comm)" or "PID (comm, zombie|stopped)" to the list. */
static void add_child(struct found *f, int pid)
{
	if (pid == previous_writer())
		return;
	struct line path = {.len = 0};
	line_str(&path, "/proc/");
	line_u64(&path, (uint64_t)pid);
	line_str(&path, "/stat");
	long len = read_proc_file(f->c, path.buf);
	if (f->count++)
		line_str(&f->list, ", ");
	line_u64(&f->list, (uint64_t)pid);
	if (len <= 0)
		return;
	/* "PID (comm) S ...": comm may hold spaces and parentheses; the last ')' ends it. */
	const char *t = f->c->text, *open = t, *close = t + len;
	while (*open && *open != '(')
		open++;
	while (close > open && *close != ')')
		close--;
	if (*open != '(' || close <= open)
		return;
	char state = close[1] == ' ' ? close[2] : '?';
	line_str(&f->list, " ");
	for (const char *p = open; p <= close; p++) {
		char one[2] = {*p, 0};
		if (p == close && (state == 'Z' || state == 'T' || state == 't'))
			line_str(&f->list, state == 'Z' ? ", zombie" : ", stopped");
		line_str(&f->list, one);
	}
}

static int each_listed_child(struct found *f, const char *text, long len)
{
	int pid = 0, digits = 0;
	for (long i = 0; i <= len; i++) {
		if (i < len && text[i] >= '0' && text[i] <= '9') {
			pid = pid * 10 + (text[i] - '0'), digits++;
			continue;
		}
		if (digits)
			add_child(f, pid);
		pid = 0, digits = 0;
	}
	return 0;
}

static int task_children(int tid, void *ctx)
{
	struct found *f = ctx;
	struct line path = {.len = 0};
	line_str(&path, "/proc/self/task/");
	line_u64(&path, (uint64_t)tid);
	line_str(&path, "/children");
	long len = read_proc_file(f->c, path.buf);
	if (len < 0)
		return (int)len;
	/* add_child reuses the text buffer: keep the pids on the stack. */
	char pids[2048];
	long n = len < (long)sizeof pids ? len : (long)sizeof pids;
	__builtin_memcpy(pids, f->c->text, (size_t)n);
	return each_listed_child(f, pids, n);
}

/* Field 4 of /proc/PID/stat: the parent's pid. */
static int parent_of(struct capture *c, int pid)
{
	struct line path = {.len = 0};
	line_str(&path, "/proc/");
	line_u64(&path, (uint64_t)pid);
	line_str(&path, "/stat");
	long len = read_proc_file(c, path.buf);
	return len > 0 ? (int)stat_field(c->text, len, 4) : 0;
}

static int scanned_child(int pid, void *ctx)
{
	struct found *f = ctx;
	if (parent_of(f->c, pid) == f->self)
		add_child(f, pid);
	return 0;
}

int refuse_children(struct capture *c)
{
	struct found f = {.c = c, .list = {.len = 0}, .count = 0, .self = (int)sys_getpid()};
	int rc = for_each_numbered_entry("/proc/self/task", task_children, &f);
	if (rc == -2 /* ENOENT: no CONFIG_PROC_CHILDREN */) {
		f.count = 0, f.list.len = 0;
		rc = for_each_numbered_entry("/proc", scanned_child, &f);
	}
	if (rc < 0)
		return capture_fail(c, "cannot list child processes", rc);
	if (!f.count)
		return 0;
	c->error.len = 0;
	line_str(&c->error, f.count > 1 ? "child processes " : "child process ");
	line_str(&c->error, f.list.buf);
	line_str(&c->error, ": processes with children cannot be checkpointed yet (checkpoint when they have been waited for)");
	return -1;
}
