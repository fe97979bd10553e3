/*
 * What a restart into a new IPC namespace would lose. A checkpoint that
 * holds SysV segments restarts in an IPC namespace of its own (segments get
 * their ids back only there: c/stub/sysv_shm.c), where none of this
 * system's other SysV objects is in view. So, when the checkpoint holds a
 * segment, an object one of its processes uses is refused, in one line
 * naming it and the process, the program running on:
 *  - a semaphore set one of them operated on last (semctl GETPID of each
 *    semaphore; /proc/sysvipc/sem names no process);
 *  - a message queue one of them sent to or received from last (lspid,
 *    lrpid in /proc/sysvipc/msg);
 *  - a segment one of them created or attached or detached last (cpid,
 *    lpid in /proc/sysvipc/shm) that none of them maps now.
 * An object they used with no trace in these (a semaphore set only read)
 * is not seen: docs/process-trees.md says so.
 */
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

#define SEM_GETPID 11 /* semctl: the pid of the last semop on the semaphore */

/* The numbers of one line of a /proc/sysvipc file; how many were read. */
static int numbers(const char **cur, const char *end, int64_t *v, int max)
{
	int n = 0;
	const char *p = *cur;
	while (p < end && *p != '\n') {
		while (p < end && *p == ' ')
			p++;
		if (p == end || *p == '\n')
			break;
		int neg = *p == '-';
		p += neg;
		int64_t x = 0;
		while (p < end && *p >= '0' && *p <= '9')
			x = x * 10 + (*p++ - '0');
		while (p < end && *p != ' ' && *p != '\n')
			p++; /* the header's words */
		if (n < max)
			v[n++] = neg ? -x : x;
	}
	*cur = p < end ? p + 1 : end;
	return n;
}

static int is_member(const int32_t *pids, uint32_t npids, int64_t pid)
{
	for (uint32_t i = 0; pid > 0 && i < npids; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

static int refuse(struct capture *c, const char *what, int64_t id, int64_t pid, const char *how)
{
	struct proc_facts f = {.pid = (int32_t)pid};
	proc_facts(c, (int)pid, &f);
	struct line l = {.len = 0};
	line_str(&l, what);
	line_i64(&l, id);
	line_str(&l, ", which ");
	name_process(&l, (int)pid, f.comm);
	line_str(&l, how);
	line_str(&l, ", would not be there after a restart: restoring SysV shared memory needs an IPC namespace of its "
		      "own, without this system's other SysV objects; checkpoint once it is removed");
	c->error = l;
	return -1;
}

int sysv_refuse_lost_objects(struct capture *c, const int32_t *pids, uint32_t npids,
			     int (*mapped)(void *ctx, uint64_t id), void *ctx)
{
	/* Message queues: key msqid perms cbytes qnum lspid lrpid. */
	long len = read_proc_file(c, "/proc/sysvipc/msg");
	const char *cur = c->text, *end = c->text + (len > 0 ? len : 0);
	int64_t v[7];
	numbers(&cur, end, v, 7);
	while (cur < end)
		if (numbers(&cur, end, v, 7) == 7)
			for (int k = 5; k < 7; k++)
				if (is_member(pids, npids, v[k]))
					return refuse(c, "SysV message queue id ", v[1], v[k], " sent to or received from last");
	/* Segments: key shmid perms size cpid lpid nattch. */
	len = read_proc_file(c, "/proc/sysvipc/shm");
	cur = c->text, end = c->text + (len > 0 ? len : 0);
	numbers(&cur, end, v, 7);
	while (cur < end)
		if (numbers(&cur, end, v, 7) == 7 && !mapped(ctx, (uint64_t)v[1]))
			for (int k = 4; k < 6; k++)
				if (is_member(pids, npids, v[k]))
					return refuse(c, "SysV shared memory segment id ", v[1], v[k],
						      " created or attached last and no process of the checkpoint maps now");
	/* Semaphore sets: key semid perms nsems; each semaphore's last user. */
	len = read_proc_file(c, "/proc/sysvipc/sem");
	cur = c->text, end = c->text + (len > 0 ? len : 0);
	numbers(&cur, end, v, 4);
	while (cur < end) {
		if (numbers(&cur, end, v, 4) != 4)
			continue;
		for (int64_t i = 0; i < v[3]; i++) {
			long pid = SYS4(__NR_semctl, v[1], i, SEM_GETPID, 0);
			if (is_member(pids, npids, pid))
				return refuse(c, "SysV semaphore set id ", v[1], pid, " operated on last");
		}
	}
	return 0;
}
