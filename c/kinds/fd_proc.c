#define _GNU_SOURCE
/*
 * CKPT_FD_PROC: files under /proc and /sys have no real size, and their
 * contents are made up at each read: they are reopened by path, never
 * checked against a saved size, and restored as a FILE is (fd_file.c,
 * offset included). The program's own /proc entries must name the
 * restored process, whose pid is new: readlink shows /proc/<pid>/..., which
 * is kept as /proc/self/... (and /proc/<pid>/task/<pid>/... as
 * /proc/thread-self/..., the stub's only thread being the leader). Entries
 * of another thread of ours (its tid changes) or of another process (its
 * pid may belong to a stranger by the time of the restart) cannot be
 * reopened exactly.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#include "../sys.h"

const char *fd_proc_record_problem(const struct ckpt_fd *f)
{
	return f->path_str ? fd_stores_nothing(f) : FD_RECORD_INVALID;
}

#ifdef CKPT_LIB
/* The decimal number at *s up to the next '/' or the end, or -1. */
static long number_at(const char **s)
{
	long n = 0;
	const char *p = *s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (*p - '0');
	if (*p && *p != '/')
		return -1;
	*s = p;
	return n;
}

static int is_own_thread(long tid)
{
	struct line p = {.len = 0};
	struct stat st;
	line_str(&p, "/proc/self/task/");
	line_u64(&p, (uint64_t)tid);
	return sys_fstatat(AT_FDCWD, p.buf, &st, 0) == 0;
}

int is_proc_path(const char *target)
{
	return str_eq(target, "/proc") || str_starts(target, "/proc/") || str_eq(target, "/sys") ||
	       str_starts(target, "/sys/");
}

/* The path to reopen at restart into `out`; 0, or -1 with the reason (for
 * the refusal) in `why`. */
static int proc_reopen_path(const char *target, char *out, size_t cap, struct line *why)
{
	const char *rest = target + 6; /* after "/proc/" */
	long pid = (long)sys_getpid(), n = str_starts(target, "/proc/") ? number_at(&rest) : -1;
	if (n < 0) {
		str_copy(out, cap, target);
		return 0;
	}
	if (n != pid) {
		line_str(why, is_own_thread(n) ? "a file of thread " : "a file of another process, ");
		line_u64(why, (uint64_t)n);
		line_str(why, is_own_thread(n) ? ", whose id changes at restart" : ", which a restart cannot bring back");
		return -1;
	}
	struct line p = {.len = 0};
	const char *task = rest;
	long tid = str_starts(task, "/task/") ? (task += 6, number_at(&task)) : -2;
	if (tid == pid) {
		line_str(&p, "/proc/thread-self");
		rest = task;
	} else if (tid >= 0) {
		line_str(why, "a file of thread ");
		line_u64(why, (uint64_t)tid);
		line_str(why, ", whose id changes at restart");
		return -1;
	} else {
		line_str(&p, "/proc/self");
	}
	line_str(&p, rest);
	if (p.len + 1 >= cap || p.len + 1 >= sizeof p.buf) {
		line_str(why, "a /proc path too long to keep");
		return -1;
	}
	str_copy(out, cap, p.buf);
	return 0;
}

int fd_proc_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	char path[CKPT_PATH_MAX];
	struct line why = {.len = 0};
	if (proc_reopen_path(target, path, sizeof path, &why) < 0)
		return drop_or_fail(c, fd, target, why.buf);
	long off = sys_lseek(fd, 0, SEEK_CUR);
	r->offset = off > 0 ? (uint64_t)off : 0;
	r->path_str = capture_string(c, path, str_len(path));
	return 1;
}
#endif
