/*
 * A process's children, without ptrace: /proc/PID/task/T/children for
 * every thread (a child belongs to the thread that forked it), or, on a
 * kernel without CONFIG_PROC_CHILDREN, every /proc/N/stat whose parent is
 * PID. libckpt's own background writer is left out: an orphan init reaps.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "sort_records.h"
#include "tree.h"
#include "../sys.h"

void add_kid(struct kids *k, int pid)
{
	if (pid == previous_writer())
		return;
	if (k->n >= CKPT_MAX_MEMBERS)
		k->overflow = 1;
	else
		k->pids[k->n++] = pid;
}

static int task_kids(int tid, void *ctx)
{
	struct kids *k = ctx;
	struct line path = proc_path((uint64_t)k->parent, "task/");
	line_u64(&path, (uint64_t)tid);
	line_str(&path, "/children");
	long len = read_proc_file(k->c, path.buf);
	if (len < 0)
		return len == -2 /* ENOENT: the thread ended */ ? 0 : (int)len;
	int pid = 0, digits = 0;
	for (long i = 0; i <= len; i++) {
		char ch = i < len ? k->c->text[i] : ' ';
		if (ch >= '0' && ch <= '9') {
			pid = pid * 10 + (ch - '0'), digits++;
			continue;
		}
		if (digits)
			add_kid(k, pid);
		pid = 0, digits = 0;
	}
	return 0;
}

static int scanned_kid(int pid, void *ctx)
{
	struct kids *k = ctx;
	if ((int)proc_stat_field(pid, 4) == k->parent)
		add_kid(k, pid);
	return 0;
}

/* The children of `parent` (k's) from its threads' children files, in no
 * order: 0, the listing's -errno, or 1 when there are no such files (no
 * CONFIG_PROC_CHILDREN, or the process is gone). */
int read_children_files(struct kids *k)
{
	struct line tasks = proc_path((uint64_t)k->parent, "task");
	struct line probe = tasks;
	line_str(&probe, "/");
	line_u64(&probe, (uint64_t)k->parent);
	line_str(&probe, "/children");
	if (sys_faccessat2(AT_FDCWD, probe.buf, 4 /* R_OK */, 0) == -2)
		return 1;
	return for_each_numbered_entry(tasks.buf, task_kids, k);
}

/* The children of `parent`, by ascending pid, into k. */
int list_kids(struct capture *c, int parent, struct kids *k)
{
	*k = (struct kids){.c = c, .parent = parent};
	int rc = read_children_files(k);
	if (rc == 1)
		rc = for_each_numbered_entry("/proc", scanned_kid, k);
	if (rc == -2 && parent != (int)sys_getpid())
		return 0; /* it exited: step 4 notices */
	if (rc < 0)
		return capture_fail(c, "cannot list the program's child processes", rc);
	sort_records_by_i32(k->pids, k->n, sizeof k->pids[0], 0);
	return 0;
}
