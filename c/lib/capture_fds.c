/*
 * Open descriptors. What can be brought back: files, directories and
 * devices reopened by path (at their offset), pipes whose both ends the
 * process holds (with their unread bytes), fds 0-2 that are terminals,
 * pipes or sockets, which a restart takes from the shell that runs it, and
 * the controlling terminal on other fds (capture_tty.c).
 * Anything else is dropped with a warning if it was already open at launch
 * (stray descriptors from job runners and IDEs are common), or else fails
 * the checkpoint by name, unless the user chose --drop-unsupported-fds.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../sys.h"

static int inherited_at_launch(int fd)
{
	return fd < 4096 && (ckpt_config.inherited_fds[fd / 64] >> (fd % 64) & 1);
}

static void fd_path(int fd, char *out, size_t cap)
{
	struct line p = {.len = 0};
	line_str(&p, "/proc/self/fd/");
	line_u64(&p, (uint64_t)fd);
	long n = sys_readlinkat(AT_FDCWD, p.buf, out, cap - 1);
	out[n > 0 ? n : 0] = 0;
}

/* An event loop's own descriptors: a program that loses one does not see an
 * I/O error it can handle, its loop fails (libuv aborts on epoll_wait's
 * EBADF: node's restart died with status 134 and no message). Dropping
 * them cannot give a working program, so --drop-unsupported-fds does not
 * apply to those the program opened, and the refusal does not offer it. */
static int event_loop_fd(const char *target)
{
	static const char *const kinds[] = {"anon_inode:[eventpoll]", "anon_inode:[eventfd]", "anon_inode:[signalfd]",
					    "anon_inode:[timerfd]", "anon_inode:inotify", "anon_inode:[io_uring]"};
	for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (str_starts(target, kinds[i]))
			return 1;
	return 0;
}

/* Returns 1 if the fd is kept (record filled), 0 if dropped, -1 to fail. */
static int drop_or_fail(struct capture *c, int fd, const char *target, const char *why)
{
	struct line l = {.len = 0};
	int inherited = inherited_at_launch(fd);
	if (!inherited && event_loop_fd(target)) {
		line_str(&l, "fd ");
		line_u64(&l, (uint64_t)fd);
		line_str(&l, " (");
		line_str(&l, target);
		line_str(&l, ") belongs to the program's event loop and cannot be restored yet; "
			     "closing it would break the program, so --drop-unsupported-fds does not apply");
		c->error = l;
		return -1;
	}
	int drop = inherited || ckpt_config.drop_unsupported_fds;
	line_str(&l, drop ? "ckpt: warning: fd " : "fd ");
	line_u64(&l, (uint64_t)fd);
	line_str(&l, " (");
	line_str(&l, target);
	line_str(&l, why[0] ? ": " : "");
	line_str(&l, why);
	line_str(&l, drop ? ") cannot be restored; it will be closed after a restart"
			  : ") was opened by the program and cannot be restored; "
			    "--drop-unsupported-fds closes such fds at restart instead");
	if (!drop) {
		c->error = l;
		return -1;
	}
	say(&l);
	return 0;
}

static int is_tty(int fd)
{
	struct termios t;
	return sys_ioctl(fd, TCGETS, &t) == 0;
}

/* Taking a lease turns on O_ASYNC, owned by the process, to deliver its
 * break notice (SIGIO, or F_SETSIG's signal): the restart's F_SETLEASE
 * sets that up again for the new pid, as long as the signal is SIGIO. */
static int lease_async(int fd)
{
	long lease = sys_fcntl(fd, F_GETLEASE, 0);
	return (lease == F_RDLCK || lease == F_WRLCK) && sys_fcntl(fd, F_GETSIG, 0) == 0 &&
	       sys_fcntl(fd, F_GETOWN, 0) == sys_getpid();
}

static int classify(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	struct stat st;
	long err = sys_fstat(fd, &st);
	if (err < 0)
		return capture_fail(c, "cannot inspect an open descriptor", err);
	r->fd = fd;
	r->open_flags = (uint32_t)sys_fcntl(fd, F_GETFL, 0);
	r->fd_flags = (uint32_t)sys_fcntl(fd, F_GETFD, 0);
	if ((r->open_flags & O_ASYNC) && !lease_async(fd)) {
		const char *why = "signal-driven I/O (O_ASYNC), whose owner and signal are not kept";
		if (fd > 2)
			return drop_or_fail(c, fd, target, why);
		/* Never dropped: a program without its stdin/stdout/stderr is worse off than one that runs on. */
		c->error.len = 0;
		line_str(&c->error, "fd ");
		line_u64(&c->error, (uint64_t)fd);
		line_str(&c->error, " (");
		line_str(&c->error, target);
		line_str(&c->error, ") uses ");
		line_str(&c->error, why);
		return -1;
	}
	int reopenable = target[0] == '/' && !str_ends(target, " (deleted)");
	if (fd <= 2 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		r->kind = CKPT_FD_INHERIT;
		return 1;
	}
	if (S_ISCHR(st.st_mode) && is_tty(fd)) {
		if (capture_tty(c, fd, r, target))
			return 1;
		return drop_or_fail(c, fd, target, "a terminal that is not the program's controlling terminal");
	}
	if (S_ISREG(st.st_mode) && target[0] == '/' && str_ends(target, " (deleted)")) {
		struct line why = {.len = 0};
		return capture_unlinked(c, fd, r, target, &st, &why) < 0 ? drop_or_fail(c, fd, target, why.buf) : 1;
	}
	if (reopenable && S_ISFIFO(st.st_mode)) {
		r->kind = CKPT_FD_FIFO; /* kept only if we hold both ends: resolve_pipes */
		r->pipe_id = st.st_ino;
		r->size = (uint64_t)sys_fcntl(fd, F_GETPIPE_SZ, 0);
		r->path_str = capture_string(c, target, str_len(target));
		return 1;
	}
	if (reopenable && is_proc_path(target) && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		char path[CKPT_PATH_MAX];
		struct line why = {.len = 0};
		if (proc_reopen_path(target, path, sizeof path, &why) < 0)
			return drop_or_fail(c, fd, target, why.buf);
		r->kind = CKPT_FD_PROC;
		long off = sys_lseek(fd, 0, SEEK_CUR);
		r->offset = off > 0 ? (uint64_t)off : 0;
		r->path_str = capture_string(c, path, str_len(path));
		return 1;
	}
	if (reopenable && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || (S_ISCHR(st.st_mode) && !is_tty(fd)))) {
		r->kind = CKPT_FD_FILE;
		long off = sys_lseek(fd, 0, SEEK_CUR);
		r->offset = off > 0 ? (uint64_t)off : 0;
		r->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		r->path_str = capture_string(c, target, str_len(target));
		return 1;
	}
	if (S_ISFIFO(st.st_mode) && str_starts(target, "pipe:")) {
		r->kind = (r->open_flags & O_ACCMODE) == O_RDONLY ? CKPT_FD_PIPE_READ : CKPT_FD_PIPE_WRITE;
		r->pipe_id = st.st_ino;
		r->size = (uint64_t)sys_fcntl(fd, F_GETPIPE_SZ, 0);
		return 1;
	}
	return drop_or_fail(c, fd, target, "");
}

/* A named FIFO's fd may hold either end or, opened O_RDWR, both. */
static int reads(const struct ckpt_fd *r)
{
	return r->kind == CKPT_FD_PIPE_READ || (r->kind == CKPT_FD_FIFO && (r->open_flags & O_ACCMODE) != O_WRONLY);
}

static int writes(const struct ckpt_fd *r)
{
	return r->kind == CKPT_FD_PIPE_WRITE || (r->kind == CKPT_FD_FIFO && (r->open_flags & O_ACCMODE) != O_RDONLY);
}

static int same_pipe(const struct ckpt_fd *a, const struct ckpt_fd *b)
{
	return a->pipe_id == b->pipe_id && (a->kind == CKPT_FD_FIFO) == (b->kind == CKPT_FD_FIFO) &&
	       (reads(b) || writes(b));
}

static int pipe_has_other_end(struct capture *c, const struct ckpt_fd *r)
{
	int rd = 0, wr = 0;
	for (uint32_t i = 0; i < c->nfds; i++)
		if (same_pipe(r, &c->fds[i]))
			rd |= reads(&c->fds[i]), wr |= writes(&c->fds[i]);
	return rd && wr;
}

static int packet_mode(const struct capture *c, const struct ckpt_fd *r)
{
	for (uint32_t i = 0; i < c->nfds; i++)
		if (same_pipe(r, &c->fds[i]) && writes(&c->fds[i]) && (c->fds[i].open_flags & O_DIRECT))
			return 1;
	return 0;
}

/* Copies the unread bytes of a pipe without consuming them: tee() into a
 * scratch pipe at least as large, then read that. */
static int capture_pipe_bytes(struct capture *c, struct ckpt_fd *r)
{
	if (c->pipe_scratch[0] < 0) {
		long err = sys_pipe2(c->pipe_scratch, O_CLOEXEC | O_NONBLOCK);
		if (err < 0)
			return capture_fail(c, "cannot create a pipe to copy pipe contents", err);
	}
	sys_fcntl(c->pipe_scratch[1], F_SETPIPE_SZ, (long)r->size);
	long n = sys_tee(r->fd, c->pipe_scratch[1], r->size, 2 /* SPLICE_F_NONBLOCK */);
	if (n <= 0)
		return 0; /* empty (EAGAIN) */
	if (packet_mode(c, r)) {
		/* Written back in one go, its packets would run together. */
		c->error.len = 0;
		line_str(&c->error, "fd ");
		line_u64(&c->error, (uint64_t)r->fd);
		line_str(&c->error, " (a packet-mode pipe, O_DIRECT) holds ");
		line_u64(&c->error, (uint64_t)n);
		line_str(&c->error, " unread bytes whose packet boundaries cannot be kept; checkpoint when it is empty");
		return -1;
	}
	if (c->pipe_data_size + (uint64_t)n > c->pipe_data_cap)
		return capture_fail(c, "too much unread data in pipes", 0);
	r->pipe_data_offset = c->pipe_data_size; /* relative; the writer makes it absolute */
	for (long got = 0; got < n;) {
		long k = sys_read(c->pipe_scratch[0], c->pipe_data + c->pipe_data_size + got, (size_t)(n - got));
		if (k <= 0)
			return capture_fail(c, "cannot copy pipe contents", k);
		got += k;
	}
	r->pipe_len = (uint32_t)n;
	c->pipe_data_size += (uint64_t)n;
	return 0;
}

static int resolve_pipes(struct capture *c)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		int is_pipe = r->kind == CKPT_FD_PIPE_READ || r->kind == CKPT_FD_PIPE_WRITE;
		if ((is_pipe || r->kind == CKPT_FD_FIFO) && !pipe_has_other_end(c, r)) {
			int k = is_pipe ? drop_or_fail(c, r->fd, "a pipe to another process", "")
					: drop_or_fail(c, r->fd, c->strings + r->path_str,
						       "a FIFO whose other end another process holds");
			if (k < 0)
				return -1;
			continue;
		}
		c->fds[kept++] = *r;
	}
	c->nfds = kept;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		int first_reader = reads(r);
		for (uint32_t j = 0; j < i && first_reader; j++)
			first_reader = !(reads(&c->fds[j]) && same_pipe(r, &c->fds[j]));
		if (first_reader && capture_pipe_bytes(c, r))
			return -1;
	}
	return 0;
}

/* Kinds restored from a record of their own, so a dup can share it. */
static int reopened_by_path(uint32_t kind)
{
	return kind == CKPT_FD_FILE || kind == CKPT_FD_PROC || kind == CKPT_FD_DELETED || kind == CKPT_FD_MEMFD ||
	       kind == CKPT_FD_FIFO;
}

/* fds that share one open file (`2>&1`, dup) must come back shared, or
 * their offsets would diverge and each overwrite the other's output. */
static void find_shared_files(struct capture *c)
{
	int pid = (int)sys_getpid();
	for (uint32_t i = 0; i < c->nfds; i++)
		for (uint32_t j = 0; j < i && reopened_by_path(c->fds[i].kind); j++)
			if (c->fds[j].kind == c->fds[i].kind && !c->fds[j].shares_with &&
			    str_eq(c->strings + c->fds[i].path_str, c->strings + c->fds[j].path_str) &&
			    sys_kcmp(pid, pid, 0 /* KCMP_FILE */, (unsigned long)c->fds[i].fd, (unsigned long)c->fds[j].fd) == 0) {
				c->fds[i].shares_with = (uint32_t)c->fds[j].fd + 1;
				break;
			}
}

/* Offsets are read again right before memory is captured: whatever ckpt
 * itself printed to a file on fd 1 or 2 (warnings) is then behind them. */
void refresh_file_offsets(struct capture *c)
{
	for (uint32_t i = 0; i < c->nfds; i++)
		if (reopened_by_path(c->fds[i].kind)) {
			long off = sys_lseek(c->fds[i].fd, 0, SEEK_CUR);
			c->fds[i].offset = off > 0 ? (uint64_t)off : 0;
		}
}

static int add_fd(struct capture *c, int fd)
{
	char target[CKPT_PATH_MAX];
	if (c->nfds >= c->max_fds)
		return capture_fail(c, "too many open descriptors", 0);
	struct ckpt_fd *r = &c->fds[c->nfds];
	*r = (struct ckpt_fd){0};
	fd_path(fd, target, sizeof target);
	int k = classify(c, fd, r, target);
	if (k > 0)
		c->nfds++;
	return k < 0 ? -1 : 0;
}

/* Sorted by fd: getdents of /proc/self/fd lists them in order already, but
 * the format promises it, so make sure. */
static void sort_fds(struct capture *c)
{
	for (uint32_t i = 1; i < c->nfds; i++)
		for (uint32_t j = i; j > 0 && c->fds[j - 1].fd > c->fds[j].fd; j--) {
			struct ckpt_fd t = c->fds[j];
			c->fds[j] = c->fds[j - 1];
			c->fds[j - 1] = t;
		}
}

static int add_listed_fd(int fd, void *c)
{
	return add_fd(c, fd) ? 1 : 0; /* 1: stop, c->error says why */
}

int capture_fds(struct capture *c)
{
	int rc = for_each_numbered_entry("/proc/self/fd", add_listed_fd, c);
	if (rc < 0)
		return capture_fail(c, "cannot list open descriptors", rc);
	if (rc)
		return -1;
	sort_fds(c);
	find_shared_files(c);
	/* The world audit runs here, with the descriptors, so that everything a
	 * restart would refuse fails the checkpoint before any heavy work. */
	return resolve_pipes(c) || capture_locks(c) ? -1 : audit_world(c);
}
