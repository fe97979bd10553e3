/*
 * What /proc says of a process of the tree (tree.h, struct proc_facts),
 * and its name in a refusal: shared by the listing (tree_members.c), the
 * wait for an exit on its way (tree_exits.c) and the root's requests
 * (tree.c).
 */
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

/* Fills f from /proc/PID/stat: 0, or -1 if the process is gone. */
int proc_facts(struct capture *c, int pid, struct proc_facts *f)
{
	struct line path = proc_path((uint64_t)pid, "stat");
	long len = read_proc_file(c, path.buf);
	if (len <= 0)
		return -1;
	const char *t = c->text, *open = t, *close = t + len;
	while (*open && *open != '(')
		open++;
	while (close > open && *close != ')')
		close--;
	*f = (struct proc_facts){.pid = pid, .state = stat_state(t, len)};
	if (*open == '(')
		for (const char *p = open + 1; p < close && p - open - 1 < (long)sizeof f->comm - 1; p++)
			f->comm[p - open - 1] = *p;
	f->ppid = (int32_t)stat_field(t, len, 4);
	f->pgid = (int32_t)stat_field(t, len, 5);
	f->sid = (int32_t)stat_field(t, len, 6);
	/* exit_code: the status wait4 would report, once a zombie */
	f->exit_code = (int32_t)stat_field(t, len, 52);
	return 0;
}

/* Gone, or a zombie: it will never answer. */
int process_gone(int pid)
{
	char text[512];
	long len = read_proc_stat(pid, text, sizeof text);
	if (len <= 0)
		return 1;
	char s = stat_state(text, len);
	return state_ended(s);
}

/* "process PID (comm)" */
void name_process(struct line *l, int pid, const char *comm)
{
	line_str(l, "process ");
	line_u64(l, (uint64_t)pid);
	line_str(l, " (");
	line_str(l, comm);
	line_str(l, ")");
}
