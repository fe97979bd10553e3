/*
 * Descriptors between the processes of a tree (docs/process-trees.md,
 * "Descriptors between members"), weighed while every member is stopped,
 * so what another process holds cannot change under the comparison:
 *
 *  - the same open file description held by a member earlier in tree
 *    order (inherited across fork, passed over a socket): kcmp(KCMP_FILE)
 *    against that member's fds on the same file (device and inode, through
 *    /proc/PID/fd) decides, and the record names the first holder
 *    (share_pid, share_fd: the first such member, its lowest fd). Whether
 *    a record may be shared so is its kind's to say (fd_shared_in_tree,
 *    c/kinds/fd_kinds.h); any other is refused naming both processes;
 *  - a member's fd (any number) that is one of the root's fds 0-2 taken
 *    from the launch (INHERIT) is INHERIT too, with share_pid the root:
 *    the restart gives it what it gives the root. A member's fd 0-2 that
 *    is not is classified like any other fd (a pipe to its neighbour in
 *    `a | b` is no terminal of the shell's);
 *  - a pipe end whose other end only another member holds is kept: the
 *    restart makes the pipe once for all of them (fd_pipe.c);
 *  - a Unix socket connected to another member's socket is a pair the
 *    restart makes once when both ends are unnamed, else refused
 *    (socket_queue.c): each image would bring back its end closed.
 * kcmp needs no privilege between two processes of the same user.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

#define KCMP_FILE 0

static int is_member(const struct capture *c)
{
	return c->tree && c->tree->root_pid != (int32_t)sys_getpid();
}

static void fd_link(struct line *l, int pid, int fd)
{
	l->len = 0;
	line_str(l, "/proc/");
	line_u64(l, (uint64_t)pid);
	line_str(l, "/fd/");
	line_u64(l, (uint64_t)fd);
}

int tree_inherited_fd(struct capture *c, int fd, struct ckpt_fd *r)
{
	if (!is_member(c))
		return 0;
	int root = c->tree->root_pid, self = (int)sys_getpid();
	for (int rfd = 0; rfd <= 2; rfd++) {
		struct line l;
		struct stat st;
		if (!(c->tree->inherited_fds[0] >> rfd & 1))
			continue; /* not the launch's (a daemon's root: daemon_root.c) */
		fd_link(&l, root, rfd);
		if (sys_fstatat(AT_FDCWD, l.buf, &st, 0) < 0 ||
		    !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			continue; /* the root's own kind_of would not make it INHERIT */
		if (sys_kcmp(self, root, KCMP_FILE, (unsigned long)fd, (unsigned long)rfd) == 0) {
			r->share_pid = root, r->share_fd = rfd;
			return 1;
		}
	}
	return 0;
}

int tree_launch_fd(struct capture *c, int fd)
{
	if (!is_member(c))
		return 0;
	int root = c->tree->root_pid, self = (int)sys_getpid();
	for (int rfd = 0; rfd < 4096; rfd++)
		if ((c->tree->inherited_fds[rfd / 64] >> (rfd % 64) & 1) &&
		    sys_kcmp(self, root, KCMP_FILE, (unsigned long)fd, (unsigned long)rfd) == 0)
			return 1;
	return 0;
}

/* Whether fd `fd` of `pid` opens its file for reading / for writing. */
static int fd_mode(struct capture *c, int pid, int fd, uint64_t *flags)
{
	struct line l = proc_path((uint64_t)pid, "fdinfo/");
	line_u64(&l, (uint64_t)fd);
	long len = read_proc_file(c, l.buf);
	return len > 0 && fdinfo_number(c->text, "flags:", 8, flags) == 0 ? 0 : -1;
}

struct holder_scan {
	struct capture *c;
	int pid;
	const char *want; /* the link text: "pipe:[ino]", "socket:[ino]" */
	int need_read, need_write; /* pipes: an end of this direction */
	int found;
};

static int holds(int fd, void *ctx)
{
	struct holder_scan *s = ctx;
	struct line l;
	char target[64];
	fd_link(&l, s->pid, fd);
	long n = sys_readlinkat(AT_FDCWD, l.buf, target, sizeof target - 1);
	target[n > 0 ? n : 0] = 0;
	if (!str_eq(target, s->want))
		return 0;
	uint64_t flags = 0;
	if ((s->need_read || s->need_write) && fd_mode(s->c, s->pid, fd, &flags))
		return 0;
	int acc = (int)(flags & O_ACCMODE);
	if ((s->need_read && acc == O_WRONLY) || (s->need_write && acc == O_RDONLY))
		return 0;
	s->found = 1;
	return 1;
}

/* A live member other than this process with an fd on `want`: its pid, or 0. */
static int held_elsewhere(struct capture *c, const char *want, int need_read, int need_write)
{
	int self = (int)sys_getpid();
	for (uint32_t i = 0; i < c->tree->nlive; i++) {
		if (c->tree->live[i] == self)
			continue;
		struct holder_scan s = {c, c->tree->live[i], want, need_read, need_write, 0};
		struct line dir = proc_path((uint64_t)s.pid, "fd");
		for_each_numbered_entry(dir.buf, holds, &s);
		if (s.found)
			return s.pid;
	}
	return 0;
}

int tree_pipe_peer_in_tree(struct capture *c, const struct ckpt_fd *r)
{
	if (!c->tree || (r->kind != CKPT_FD_PIPE_READ && r->kind != CKPT_FD_PIPE_WRITE))
		return 0;
	struct line want = {.len = 0};
	line_str(&want, "pipe:[");
	line_u64(&want, r->pipe_id);
	line_str(&want, "]");
	return held_elsewhere(c, want.buf, r->kind == CKPT_FD_PIPE_WRITE, r->kind == CKPT_FD_PIPE_READ) != 0;
}

int tree_holds_socket(struct capture *c, uint64_t ino)
{
	if (!c->tree || !ino)
		return 0;
	struct line want = {.len = 0};
	line_str(&want, "socket:[");
	line_u64(&want, ino);
	line_str(&want, "]");
	return held_elsewhere(c, want.buf, 0, 0);
}

/* "%08X" of a 32-bit word as the kernel prints addresses in /proc/net/tcp:
 * the network-order word read as a host integer. */
static void hex_word(struct line *l, const unsigned char *b, int digits)
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t v = 0;
	if (digits == 8)
		__builtin_memcpy(&v, b, 4);
	else
		v = (uint32_t)b[0] << 8 | b[1]; /* a port, in network order */
	char out[9];
	for (int i = 0; i < digits; i++)
		out[i] = hex[(v >> (4 * (digits - 1 - i))) & 15];
	out[digits] = 0;
	line_str(l, out);
}

/* "ADDR:PORT" of an IPv4 or IPv6 socket address, as /proc/net/tcp{,6} shows it. */
static int net_tcp_text(const unsigned char *sa, struct line *l)
{
	uint16_t family;
	__builtin_memcpy(&family, sa, 2);
	if (family == 2 /* AF_INET */)
		hex_word(l, sa + 4, 8);
	else if (family == 10 /* AF_INET6 */)
		for (int i = 0; i < 4; i++)
			hex_word(l, sa + 8 + 4 * i, 8);
	else
		return -1;
	line_str(l, ":");
	hex_word(l, sa + 2, 4);
	return 0;
}

int tree_tcp_peer(struct capture *c, int fd)
{
	if (!c->tree)
		return 0;
	unsigned char self[128] = {0}, peer[128] = {0};
	uint32_t len = sizeof self;
	struct line me = {.len = 0}, them = {.len = 0};
	if (sys_getsockname(fd, self, &len) < 0 || net_tcp_text(self, &me) < 0)
		return 0;
	len = sizeof peer;
	if (sys_getpeername(fd, peer, &len) < 0 || net_tcp_text(peer, &them) < 0)
		return 0;
	uint16_t family;
	__builtin_memcpy(&family, self, 2);
	/* The peer's end: local address `them`, remote `me`; its inode is the
	 * line's tenth field. */
	long n = read_proc_file(c, family == 2 ? "/proc/net/tcp" : "/proc/net/tcp6");
	for (const char *p = c->text, *end = c->text + (n > 0 ? n : 0); p < end;) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		const char *f = p;
		while (f < eol && *f == ' ')
			f++;
		while (f < eol && *f != ' ') /* "sl:" */
			f++;
		while (f < eol && *f == ' ')
			f++;
		if (str_starts(f, them.buf) && f[them.len] == ' ' && str_starts(f + them.len + 1, me.buf) &&
		    f[them.len + 1 + me.len] == ' ') {
			int field = 2;
			for (; f < eol && field < 10; f++)
				if (*f == ' ' && f[1] != ' ')
					field++;
			uint64_t ino = 0;
			for (; f < eol && *f >= '0' && *f <= '9'; f++)
				ino = ino * 10 + (uint64_t)(*f - '0');
			return tree_holds_socket(c, ino);
		}
		p = eol + 1;
	}
	return 0;
}

struct share_scan {
	struct capture *c;
	int pid;
	uint64_t *keys; /* per record: device, inode */
	int failed;
};

/* What a kind that cannot be shared between members is, for the refusal. */
static const char *unshared_kind_text(const struct ckpt_fd *r)
{
	if (r->kind == CKPT_FD_INET_SOCKET || r->kind == CKPT_FD_UNIX_SOCKET)
		return r->sock_state == CKPT_SOCK_PEER_CLOSED ? (r->kind == CKPT_FD_INET_SOCKET ? "a TCP connection" : "a Unix socket connection")
							      : "a socket";
	switch (r->kind) {
	case CKPT_FD_TTY:
		return "a terminal";
	case CKPT_FD_PROC:
		return "a /proc or /sys file";
	case CKPT_FD_FIFO:
		return "a named FIFO";
	case CKPT_FD_EVENTFD:
		return "an eventfd";
	case CKPT_FD_SIGNALFD:
		return "a signalfd";
	case CKPT_FD_TIMERFD:
		return "a timerfd";
	case CKPT_FD_EPOLL:
		return "an epoll";
	case CKPT_FD_INOTIFY:
		return "an inotify instance";
	default:
		return "a descriptor";
	}
}

/* "fd N (KIND) RELATION fd M of PROCESS: WHY", the refusal of a
 * descriptor against another member's. */
static int refuse_pair(struct capture *c, const struct ckpt_fd *r, const char *kind, const char *relation, int pid, int fd,
		       const char *why)
{
	struct proc_facts f = {.pid = pid};
	proc_facts(c, pid, &f);
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, " (");
	line_str(&c->error, kind);
	line_str(&c->error, ") ");
	line_str(&c->error, relation);
	line_str(&c->error, " fd ");
	line_u64(&c->error, (uint64_t)fd);
	line_str(&c->error, " of ");
	name_process(&c->error, pid, f.comm);
	line_str(&c->error, why);
	return -1;
}

static int refuse_share(struct capture *c, const struct ckpt_fd *r, int pid, int fd)
{
	return refuse_pair(c, r, unshared_kind_text(r), "is the same open file as", pid, fd,
			   ": such a descriptor shared between processes is not restored yet");
}

/* r and another member's fd are two open file descriptions of one deleted
 * file or memfd: r opens again the one the first process in tree order holding it
 * made (its lowest fd there, the tree's holder of its bytes), unless a dup
 * of another member's description is found later in the scan. */
static void other_open(struct ckpt_fd *r, int pid, int fd)
{
	if (r->kind != CKPT_FD_DELETED && r->kind != CKPT_FD_MEMFD)
		return; /* a file by its path: each open is made again by its own */
	if (!r->share_pid && !r->shares_with)
		r->share_pid = pid, r->share_fd = fd, r->reopens = (uint32_t)fd + 1;
}

static int share_with(int fd, void *ctx)
{
	struct share_scan *s = ctx;
	struct capture *c = s->c;
	struct line l;
	struct stat st;
	fd_link(&l, s->pid, fd);
	if (sys_fstatat(AT_FDCWD, l.buf, &st, 0) < 0)
		return 0;
	int self = (int)sys_getpid();
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		if ((r->share_pid && !r->reopens) || s->keys[2 * i] != st.st_dev || s->keys[2 * i + 1] != st.st_ino)
			continue;
		if (sys_kcmp(self, s->pid, KCMP_FILE, (unsigned long)r->fd, (unsigned long)fd) != 0) {
			other_open(r, s->pid, fd);
			continue;
		}
		if (!fd_shared_in_tree(r)) { /* a connected Unix socket may still be a pair: resolve_unix_sockets decides */
			s->failed = refuse_share(c, r, s->pid, fd);
			return 1;
		}
		r->share_pid = s->pid, r->share_fd = fd, r->reopens = 0;
	}
	return 0;
}

int tree_share_fds(struct capture *c)
{
	if (!is_member(c) || !c->nfds)
		return 0;
	uint64_t len = align_up(c->nfds * 16ull, 4096);
	long m = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return capture_fail(c, "cannot map memory to compare descriptors", m);
	struct share_scan s = {.c = c, .keys = (uint64_t *)m};
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct stat st;
		if (sys_fstat(c->fds[i].fd, &st) == 0)
			s.keys[2 * i] = st.st_dev, s.keys[2 * i + 1] = st.st_ino;
	}
	int self = (int)sys_getpid();
	for (uint32_t p = 0; p < c->tree->nlive && c->tree->live[p] != self && !s.failed; p++) {
		s.pid = c->tree->live[p];
		struct line dir = proc_path((uint64_t)s.pid, "fd");
		for_each_numbered_entry(dir.buf, share_with, &s);
	}
	sys_munmap((void *)m, len);
	return s.failed ? -1 : 0;
}
