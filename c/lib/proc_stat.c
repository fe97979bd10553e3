/*
 * Fields of a /proc/PID/stat line. Its second field, comm, may hold spaces
 * and parentheses, so every field after it is counted from the last ')'.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

/* The text after the last ')', or 0 if there is none. */
static const char *after_comm(const char *text, long len)
{
	const char *p = text + len;
	while (p > text && *p != ')')
		p--;
	return *p == ')' ? p + 1 : 0;
}

uint64_t stat_field(const char *text, long len, int n)
{
	const char *p = after_comm(text, len);
	if (!p)
		return 0;
	int field = 2;
	uint64_t v = 0;
	for (; *p && field < n; p++)
		if (*p == ' ')
			field++;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

char stat_state(const char *text, long len)
{
	const char *p = after_comm(text, len);
	return p && p[0] == ' ' ? p[1] : '?';
}

int state_ended(char state)
{
	return state == 'Z' || state == 'X';
}

int task_ended(struct capture *c, const char *task_dir, int tid)
{
	struct line p = {.len = 0};
	line_str(&p, task_dir);
	line_str(&p, "/");
	line_u64(&p, (uint64_t)tid);
	line_str(&p, "/stat");
	long len = read_proc_file(c, p.buf);
	return len <= 0 /* gone */ || state_ended(stat_state(c->text, len));
}

/* /proc/PID/stat into `text` (NUL-terminated), without a capture's buffer:
 * the constructor and the exec wrappers read it too. Its length, or <= 0. */
long read_proc_stat(int pid, char *text, long size)
{
	struct line path = proc_path((uint64_t)pid, "stat");
	long fd = sys_openat(AT_FDCWD, path.buf, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long len = sys_read((int)fd, text, (size_t)(size - 1));
	sys_close((int)fd);
	text[len > 0 ? len : 0] = 0;
	return len;
}

/* Field n of /proc/PID/stat; 0 if unreadable. */
uint64_t proc_stat_field(int pid, int n)
{
	char text[1024];
	long len = read_proc_stat(pid, text, sizeof text);
	return len > 0 ? stat_field(text, len, n) : 0;
}

/* Whether `pid` is this process's parent, grandparent…: walks PPid up. */
int is_ancestor(int pid)
{
	for (int p = (int)sys_getppid(); p > 1; p = (int)proc_stat_field(p, 4))
		if (p == pid)
			return 1;
	return pid == 1;
}
