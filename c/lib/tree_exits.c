/*
 * A process of the tree whose first thread is a zombie is not always one
 * that has ended (docs/process-trees.md, "Words"):
 *
 *  - exit_group on its way: the first thread shows Z while the others
 *    still run their exit, and the descriptors close only with the last of
 *    them. Listed as a zombie then, the pipe it still held made the root's
 *    end "a pipe to another process" (cargo, at each rustc's end: about one
 *    checkpoint in four here). Its threads end within milliseconds: the
 *    listing waits for them.
 *  - a main thread that called pthread_exit while the others run on: a
 *    live program that a restart would make again as an exited one. It is
 *    refused by pid and name once its threads have not ended for a second.
 */
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

#define EXIT_WAIT_NS 1000000000ull

struct task_scan {
	struct capture *c;
	struct line dir; /* /proc/PID/task */
	int alive;
};

static int task_alive(int tid, void *ctx)
{
	struct task_scan *s = ctx;
	s->alive = !task_ended(s->c, s->dir.buf, tid);
	return s->alive;
}

/* Whether a thread of `pid` has not ended yet. */
static int threads_alive(struct capture *c, int pid)
{
	struct task_scan s = {c, proc_path((uint64_t)pid, "task"), 0};
	for_each_numbered_entry(s.dir.buf, task_alive, &s);
	return s.alive;
}

int tree_settle_exit(struct capture *c, struct proc_facts *f)
{
	if (f->state != 'Z')
		return 0;
	uint64_t since = monotonic_ns();
	while (threads_alive(c, f->pid)) {
		if (monotonic_ns() - since > EXIT_WAIT_NS) {
			c->error.len = 0;
			name_process(&c->error, f->pid, f->comm);
			line_str(&c->error, ": its first thread has ended while its other threads run on (pthread_exit "
					    "in main): a restart cannot make that again; checkpoint when it has ended");
			return -1;
		}
		struct { long sec, nsec; } tick = {0, 1000 * 1000};
		sys_ppoll(0, 0, &tick);
	}
	return proc_facts(c, f->pid, f) ? 1 : 0;
}
