/*
 * What a restart into new namespaces (pid_namespace.c) checks first, and
 * says when the namespaces cannot be had: the pids it needs must exist on
 * this kernel; a process tree and SysV segments (their ids) restart only
 * inside them, refused in one line otherwise; a single process goes on
 * with a new pid and one line saying why.
 */
#include "stub.h"
#include "../sys.h"

static __attribute__((noreturn)) void refuse_pid(const char *what, int32_t pid, int64_t pid_max)
{
	struct line l = {.len = 0};
	line_str(&l, what);
	line_i64(&l, pid);
	line_str(&l, " is above this kernel's pid_max (");
	line_i64(&l, pid_max);
	line_str(&l, "): restart with --new-pid to give it a new pid");
	die_line(&l);
}

/* The pids the namespace needs must exist on this kernel: refused here, in
 * one line, rather than failing halfway. */
void check_namespace_pids(const struct ckpt_header *h, const char *tables)
{
	int64_t pid_max = proc_number("/proc/sys/kernel/pid_max");
	if (pid_max <= 0)
		return; /* clone3 will say */
	if (h->pid > pid_max)
		refuse_pid("the image's pid ", h->pid, pid_max);
	if (h->ppid > pid_max)
		refuse_pid("the image's parent pid ", h->ppid, pid_max);
	const struct ckpt_thread *t = (const void *)(tables + h->threads_off);
	for (uint32_t i = 0; i < h->nthreads; i++)
		if (t[i].tid > pid_max)
			refuse_pid("the image's thread id ", t[i].tid, pid_max);
}

/* "WHY" or "WHY: ERRNO TEXT": the end of each line below. */
static void append_why(struct line *l, const char *why, long err)
{
	line_str(l, why);
	if (err) {
		line_str(l, ": ");
		line_str(l, errno_text(err));
	}
}

/* A tree's processes keep their pids, or their parents' waitpid and
 * getppid would lie: without a namespace, no restart at all. */
static void refuse_tree_without_namespace(const struct ckpt_header *h, const char *why, long err)
{
	if (!h->nmembers)
		return;
	struct line l = {.len = 0};
	line_str(&l, "a process tree (");
	line_u64(&l, h->nmembers + 1);
	line_str(&l, " processes) restarts only into a new pid namespace, at its old pids: ");
	append_why(&l, why, err);
	die_line(&l);
}

/* A daemon comes back detached from `ckpt restart`, under the namespace's
 * init: in the restart's own process it would be the shell's job. */
static void refuse_daemon_without_namespace(const struct ckpt_header *h, const char *why, long err)
{
	if (!(h->flags & CKPT_HEADER_DAEMON))
		return;
	struct line l = {.len = 0};
	line_str(&l, "a daemon (process ");
	line_i64(&l, h->pid);
	line_str(&l, ", left running by the program ckpt launched) restarts only into a new pid namespace: ");
	append_why(&l, why, err);
	die_line(&l);
}

void refuse_without_namespace(const struct ckpt_header *h, const char *tables, const char *why, const char *sysv_why)
{
	refuse_tree_without_namespace(h, why, 0);
	refuse_daemon_without_namespace(h, why, 0);
	refuse_sysv_without_namespace(h, tables, sysv_why);
}

void say_no_namespace(const struct ckpt_header *h, const char *tables, const char *why, long err)
{
	refuse_tree_without_namespace(h, why, err);
	refuse_daemon_without_namespace(h, why, err);
	refuse_sysv_without_namespace(h, tables, why);
	struct line l = {.len = 0};
	line_str(&l, "ckpt: restarting ");
	line_str(&l, restart.image);
	line_str(&l, " with a new pid, not its old ");
	line_i64(&l, h->pid);
	line_str(&l, ": ");
	append_why(&l, why, err);
	line_str(&l, "\n");
	sys_write(restart.err_fd, l.buf, l.len);
}

