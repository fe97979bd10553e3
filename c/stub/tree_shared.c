/*
 * What the processes of a tree share, made once by the root before any
 * other process exists (docs/process-trees.md, "Restart", step 3): every
 * open file description another process names as its first holder's
 * (share_pid, share_fd), made from that record by its kind's own code
 * (a file reopened, an eventfd with its counter, a listener bound, a
 * deleted file made again with its bytes), and
 * every pipe whose records are in more than one process (one pipe per
 * pipe_id, each end one description, its unread bytes from the first
 * image in tree order that stored them). Each is
 * parked at a number above every process's descriptors, so the processes,
 * created with a copy of the root's table, all find them there; each then
 * places its own records from them (tree_parked_fd) and closes the rest.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "tree.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

/* A description keyed by its first holder (pid, fd), or, by_id, a pipe's
 * end by (pipe_id, kind) or a pair's end by its inode; `at` the parked number. */
struct parked {
	int32_t pid, fd;
	uint64_t pipe_id;
	uint32_t kind, by_id;
	int at;
};

static struct parked *parked;
static uint32_t nparked;

const struct ckpt_fd *tree_fds_of(uint32_t proc, uint32_t *n)
{
	const struct tree_process *p = &tree.proc[proc];
	*n = p->hdr ? p->hdr->nfds : 0;
	return p->hdr ? (const void *)(p->tables + p->hdr->fds_off) : 0;
}

static int is_pipe(uint32_t kind)
{
	return kind == CKPT_FD_PIPE_READ || kind == CKPT_FD_PIPE_WRITE;
}

int tree_is_pair(const struct ckpt_fd *f)
{
	return f->kind == CKPT_FD_UNIX_SOCKET && f->sock_state == CKPT_SOCK_PAIR;
}

/* A Unix connection end whose peer is gone: parked by its inode when it
 * has a name (park_socket_pairs), else made by its holder. */
int tree_is_closed_connection(const struct ckpt_fd *f)
{
	return f->kind == CKPT_FD_UNIX_SOCKET && f->sock_state == CKPT_SOCK_PEER_CLOSED;
}

/* Records parked by an id of their own (a pipe's pipe_id, a pair end's
 * inode), not by their first holder: every record of that id takes it. */
static int by_id(const struct ckpt_fd *f)
{
	return is_pipe(f->kind) || tree_is_pair(f) || tree_is_closed_connection(f);
}

static uint64_t id_of(const struct ckpt_fd *f)
{
	return f->kind == CKPT_FD_UNIX_SOCKET ? f->sock_id : f->pipe_id;
}

/* The description record `f` of process `proc` is, as (pid, fd): its first
 * holder's. One that opens a file again (reopens) is a description of its
 * own: share_pid names the file's holder, not it. */
static void holder_of(uint32_t proc, const struct ckpt_fd *f, int32_t *pid, int32_t *fd)
{
	int own = !f->share_pid || f->reopens;
	*pid = own ? tree.proc[proc].pid : f->share_pid;
	*fd = own ? f->fd : f->share_fd;
}

static struct parked *find(int32_t pid, int32_t fd, uint64_t pipe_id, uint32_t kind, uint32_t id)
{
	for (uint32_t i = 0; i < nparked; i++)
		if (parked[i].kind == kind && parked[i].by_id == id &&
		    (id ? parked[i].pipe_id == pipe_id : parked[i].pid == pid && parked[i].fd == fd))
			return &parked[i];
	return 0;
}

/* Moves `fd` to the next parked number, where it may already be: every
 * number from there on is free, so a new fd lands there or below. */
int park_fd(int fd, int *next)
{
	if (fd == *next)
		return (*next)++;
	long at = sys_fcntl(fd, F_DUPFD_CLOEXEC, *next);
	if (at < 0)
		die("cannot keep a descriptor the tree's processes share", at);
	sys_close(fd);
	*next = (int)at + 1;
	return (int)at;
}

/* The process whose pid is `pid`, and its record of `fd` (checked to exist). */
static const struct ckpt_fd *record_of(int32_t pid, int32_t fd, uint32_t *proc)
{
	for (*proc = 0; *proc < tree.n && tree.proc[*proc].pid != pid; (*proc)++)
		;
	uint32_t n;
	const struct ckpt_fd *f = tree_fds_of(*proc, &n);
	for (uint32_t i = 0; i < n; i++)
		if (f[i].fd == fd)
			return &f[i];
	die("descriptor sharing between processes is inconsistent (corrupt image)", 0);
}

/* Process p's image, open for reading its stored bytes (the root's own is open). */
int tree_image_of(uint32_t p)
{
	if (!p)
		return restart.image_fd;
	static char path[CKPT_PATH_MAX];
	member_image_path(tree.proc[p].member, tree.root_strings, path, sizeof path);
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		die_path("cannot open the member image", path, fd);
	return (int)fd;
}

void tree_done_with_image(uint32_t p, int fd)
{
	if (p)
		sys_close(fd);
}

/* The description `first` (a first holder's record, of a kind that may be
 * shared: fd_shared_in_tree) made as its kind's restore makes it, at a
 * high number; its status flags are set as each holder places it (fds.c). */
static int make_description(const struct ckpt_fd *first, uint32_t holder, const char *name)
{
	long fd = -22; /* EINVAL: validate.c admits no other kind */
	switch (first->kind) {
	case CKPT_FD_INHERIT: /* the restart's own 0-2, as the root has them now */
		fd = sys_fcntl(first->fd, F_DUPFD_CLOEXEC, 0);
		break;
	case CKPT_FD_FILE:
		if (first->kind_flags & CKPT_FILE_KEPT) { /* gone: made again from its first holder's image */
			int image = tree_image_of(holder);
			fd_file_remake(first, name, image);
			tree_done_with_image(holder, image);
		}
		return fd_file_reopen(first, name);
	case CKPT_FD_EVENTFD: /* its counter, once */
		return fd_eventfd_make(first);
	case CKPT_FD_EPOLL: /* empty: its first holder registers the list in phase 1 */
		return fd_epoll_make();
	case CKPT_FD_SIGNALFD:
		return fd_signalfd_make(first);
	case CKPT_FD_TIMERFD: /* unarmed: its first holder arms it in phase 2 */
		return fd_timerfd_make(first);
	case CKPT_FD_DELETED: /* its bytes, from its first holder's image, once */
	case CKPT_FD_MEMFD: {
		int image = tree_image_of(holder);
		int made = fd_unlinked_make(first, name, image);
		tree_done_with_image(holder, image);
		return made;
	}
	case CKPT_FD_UNIX_SOCKET: /* bound and listening here, before any member checks its world */
		fd_unix_socket_check_world(first, name);
		return fd_unix_socket_make(first, name);
	case CKPT_FD_INET_SOCKET: /* never a connection (no image bytes to read): those are refused */
		return fd_inet_socket_make(first, name, -1);
	default:
		break;
	}
	if (fd < 0)
		die("cannot make a descriptor the tree's processes share", fd);
	return (int)fd;
}

/* The description first holder (pid, fd) has, parked: made once. One that
 * opens a deleted file again is opened on its file's holder's description,
 * itself made first (validated: a holder that opens no file again). */
static int parked_description(int32_t pid, int32_t fd, uint32_t kind, int *next)
{
	const struct parked *p = find(pid, fd, 0, kind, 0);
	if (p)
		return p->at;
	uint32_t holder;
	const struct ckpt_fd *first = record_of(pid, fd, &holder);
	int made, file = first->reopens ? parked_description(first->share_pid ? first->share_pid : pid,
							       (int32_t)first->reopens - 1, kind, next) : -1;
	const struct tree_process *h = &tree.proc[holder];
	judge_member(h->member, tree.root_strings); /* a refusal names the first holder */
	if (first->reopens)
		made = fd_unlinked_reopen(first, file);
	else
		made = make_description(first, holder, h->tables + h->hdr->strings_off + first->path_str);
	int at = park_fd(made, next);
	parked[nparked++] = (struct parked){.pid = pid, .fd = fd, .kind = kind, .at = at};
	return at;
}

/* Every description a later process names as shared, and every deleted
 * file one opens again: made once. */
static void park_descriptions(int *next)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; i < n; i++)
			if (f[i].share_pid && !by_id(&f[i]))
				parked_description(f[i].share_pid, f[i].share_fd, f[i].kind, next);
	}
	judge_member(0, 0);
}

/* Whether pipe_id has records in a process other than `proc`. */
static int pipe_between_processes(uint32_t proc, uint64_t pipe_id)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; p != proc && i < n; i++)
			if (is_pipe(f[i].kind) && f[i].pipe_id == pipe_id)
				return 1;
	}
	return 0;
}

/* The unread bytes, from the first process that stored them (each reader
 * stored the same: everyone was stopped), written into `wr`. */
static void refill_pipe(uint64_t pipe_id, int wr)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (f[i].kind != CKPT_FD_PIPE_READ || f[i].pipe_id != pipe_id || !f[i].pipe_len)
				continue;
			int image = tree_image_of(p);
			refill_from_image(image, f[i].pipe_data_offset, f[i].pipe_len, f[i].pipe_crc, wr, 0, "pipe");
			tree_done_with_image(p, image);
			return;
		}
	}
}

/* O_DIRECT (packet mode) is the write end's, chosen at creation. */
static unsigned packet_mode(uint64_t pipe_id)
{
	unsigned direct = 0;
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; i < n; i++)
			if (f[i].kind == CKPT_FD_PIPE_WRITE && f[i].pipe_id == pipe_id)
				direct |= f[i].open_flags & O_DIRECT;
	}
	return direct;
}

static void park_pipes(int *next)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (!is_pipe(f[i].kind) || find(0, 0, f[i].pipe_id, CKPT_FD_PIPE_READ, 1) ||
			    !pipe_between_processes(p, f[i].pipe_id))
				continue;
			int ends[2];
			long err = sys_pipe2(ends, O_CLOEXEC | O_NONBLOCK | (int)packet_mode(f[i].pipe_id));
			if (err < 0)
				die("cannot create a pipe between the tree's processes", err);
			if (f[i].size)
				sys_fcntl(ends[1], F_SETPIPE_SZ, (long)f[i].size);
			refill_pipe(f[i].pipe_id, ends[1]);
			parked[nparked++] = (struct parked){.pipe_id = f[i].pipe_id, .kind = CKPT_FD_PIPE_READ, .by_id = 1,
							    .at = park_fd(ends[0], next)};
			parked[nparked++] = (struct parked){.pipe_id = f[i].pipe_id, .kind = CKPT_FD_PIPE_WRITE, .by_id = 1,
							    .at = park_fd(ends[1], next)};
		}
	}
}

void tree_parking_begin(void)
{
	uint64_t records = 0;
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		tree_fds_of(p, &n);
		records += n;
	}
	long m = sys_mmap(0, (2 * records + 1) * sizeof *parked, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		die("cannot allocate memory for the tree's shared descriptors", m);
	parked = (void *)m;
}

int park_shared(int next)
{
	park_descriptions(&next);
	park_pipes(&next);
	return next;
}

void tree_park_by_id(uint64_t id, uint32_t kind, int fd, int *next)
{
	parked[nparked++] = (struct parked){.pipe_id = id, .kind = kind, .by_id = 1, .at = park_fd(fd, next)};
}

int tree_parked_by_id(uint64_t id, uint32_t kind)
{
	return find(0, 0, id, kind, 1) != 0;
}

int tree_parked_fd(const struct ckpt_fd *f)
{
	if (!tree.n)
		return -1;
	int32_t pid, fd;
	holder_of(restart.tree_index, f, &pid, &fd);
	const struct parked *p = find(pid, fd, id_of(f), f->kind, (uint32_t)by_id(f));
	return p ? p->at : -1;
}

int tree_parked_file(const struct ckpt_fd *f)
{
	const struct parked *p = find(f->share_pid, f->share_fd, 0, f->kind, 0);
	if (!p)
		die("descriptor sharing between processes is inconsistent (corrupt image)", 0);
	return p->at;
}

/* One by one: a number the parking skipped may hold this process's own
 * fd by now (its image, moved high). */
void close_parked(void)
{
	for (uint32_t i = 0; i < nparked; i++)
		sys_close(parked[i].at);
}
