/*
 * Open descriptors: every entry of /proc/self/fd, classified by what it is
 * into a kind (enum ckpt_fd_kind) and captured by that kind's module
 * (c/kinds/fd_*.c), which keeps it, drops it or refuses the checkpoint.
 * What no kind can bring back is dropped or refused by fd_unsupported.c.
 * Then what concerns several descriptors at once: pipes' other ends,
 * shared open files, locks, epolls' watches, and the world audit.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "tracking_fds.h"
#include "smaps_walk.h"
#include "tree.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

static void fd_path(int fd, char *out, size_t cap)
{
	struct line p = self_fd_path(fd);
	long n = sys_readlinkat(AT_FDCWD, p.buf, out, cap - 1);
	out[n > 0 ? n : 0] = 0;
}

/* SO_DOMAIN: AF_UNIX 1, AF_INET 2, AF_NETLINK 16, AF_PACKET 17…; -errno. */
static int socket_family(int fd)
{
	int32_t family = 0;
	uint32_t len = sizeof family;
	long err = sys_getsockopt(fd, 1 /* SOL_SOCKET */, 39 /* SO_DOMAIN */, &family, &len);
	return err < 0 ? (int)err : family;
}

/* Why a socket no kind takes cannot come back: its family, by name. */
static const char *socket_family_text(int fd)
{
	switch (socket_family(fd)) {
	case 16:
		return "a netlink socket (AF_NETLINK), which ckpt does not restore";
	case 17:
		return "a packet socket (AF_PACKET), which ckpt does not restore";
	case 40:
		return "a vsock socket (AF_VSOCK), which ckpt does not restore";
	default:
		return "a socket of a family ckpt does not restore";
	}
}

#define MQUEUE_MAGIC 0x19800202
#define SECRETMEM_MAGIC 0x5345434d

/* Whether a directory fd has an owner for signals. F_GETOWN cannot tell:
 * its answer for a process group is negative, as is its EBADF for an
 * O_PATH fd (rsync's and find's), which can have no owner. */
static int directory_has_owner(int fd)
{
	struct f_owner_ex owner = {0, 0};
	return sys_fcntl(fd, F_GETOWN_EX, (long)&owner) == 0 && owner.pid != 0;
}

/* Files no kind restores though they look like files. A message queue or
 * secret memory has a path (/ckptq) or a deleted name (/secretmem), but
 * reopening it would open something else, or nothing. A directory with an
 * owner for signals has a dnotify watch (fcntl F_NOTIFY sets the owner;
 * nothing shows the watch itself, so it cannot be set again), or had one,
 * or an explicit F_SETOWN: no directory needs one otherwise. */
static const char *special_file_text(int fd, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return directory_has_owner(fd) ? "a directory with a signal owner, which a dnotify watch (fcntl F_NOTIFY) "
						 "sets; no kernel interface shows the watch, so it cannot be restored"
					       : 0;
	if (!S_ISREG(st->st_mode))
		return 0;
	switch (fd_fs_magic(fd)) {
	case MQUEUE_MAGIC:
		return "a POSIX message queue (mq_open), which ckpt does not restore";
	case SECRETMEM_MAGIC:
		return "a memfd_secret area, whose memory not even the kernel may read for ckpt";
	default:
		return 0;
	}
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

/* The kind of descriptor `fd` is, from what fstat and readlink say; 0 when
 * no kind can bring it back. The order matters: the root's fds 0-2 are
 * taken from the restart whatever they are (a member's, only when they
 * are the root's: tree_inherited_fd), and a terminal is never reopened as
 * a file. */
static uint32_t kind_of(int fd, const struct stat *st, const char *target, uint32_t open_flags, int member)
{
	int reopenable = target[0] == '/' && !str_ends(target, " (deleted)");
	if (fd <= 2 && !member && (S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)))
		return CKPT_FD_INHERIT;
	if (S_ISCHR(st->st_mode) && is_tty(fd))
		return CKPT_FD_TTY;
	if (special_file_text(fd, st))
		return 0;
	if (S_ISREG(st->st_mode) && target[0] == '/' && str_ends(target, " (deleted)"))
		return fd_unlinked_kind(target);
	if (reopenable && S_ISFIFO(st->st_mode))
		return CKPT_FD_FIFO;
	if (reopenable && is_proc_path(target) && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
		return CKPT_FD_PROC;
	if (reopenable && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || (S_ISCHR(st->st_mode) && !is_tty(fd))))
		return CKPT_FD_FILE;
	if (reopenable && S_ISLNK(st->st_mode) && (open_flags & O_PATH)) /* the link itself, O_PATH | O_NOFOLLOW */
		return CKPT_FD_FILE;
	if (S_ISFIFO(st->st_mode) && str_starts(target, "pipe:"))
		return (open_flags & O_ACCMODE) == O_RDONLY ? CKPT_FD_PIPE_READ : CKPT_FD_PIPE_WRITE;
	/* Anonymous inodes have no file type worth testing: only their name says. */
	if (str_eq(target, "anon_inode:[eventfd]"))
		return CKPT_FD_EVENTFD;
	if (str_eq(target, "anon_inode:[signalfd]"))
		return CKPT_FD_SIGNALFD;
	if (str_eq(target, "anon_inode:[timerfd]"))
		return CKPT_FD_TIMERFD;
	if (str_eq(target, "anon_inode:[eventpoll]"))
		return CKPT_FD_EPOLL;
	if (str_eq(target, "anon_inode:inotify"))
		return CKPT_FD_INOTIFY;
	if (!S_ISSOCK(st->st_mode))
		return 0;
	switch (socket_family(fd)) {
	case 1: /* AF_UNIX */
		return CKPT_FD_UNIX_SOCKET;
	case 2:  /* AF_INET */
	case 10: /* AF_INET6 */
		return CKPT_FD_INET_SOCKET;
	default:
		return 0;
	}
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
	const char *why = "signal-driven I/O (O_ASYNC) on the terminal or pipe the program was given";
	if ((r->open_flags & O_ASYNC) && !lease_async(fd) && (fd <= 2 || fd_async_capture(fd, r, &why) < 0)) {
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
	/* A daemon's 0-2 are not the restart's to give (daemon_root.c). */
	int member = c->member_path != 0 || ckpt_config.daemon_root;
	switch (r->kind = tree_inherited_fd(c, fd, r) ? CKPT_FD_INHERIT : kind_of(fd, &st, target, r->open_flags, member)) {
	case CKPT_FD_INHERIT:
		return fd_inherit_capture(r);
	case CKPT_FD_TTY:
		return fd_tty_capture(c, fd, r, target);
	case CKPT_FD_DELETED:
	case CKPT_FD_MEMFD:
		return fd_unlinked_capture(c, fd, r, target, &st);
	case CKPT_FD_FIFO:
		return fd_fifo_capture(c, fd, r, target, &st);
	case CKPT_FD_PROC:
		return fd_proc_capture(c, fd, r, target);
	case CKPT_FD_FILE:
		return fd_file_capture(c, fd, r, target, &st);
	case CKPT_FD_PIPE_READ:
	case CKPT_FD_PIPE_WRITE:
		return fd_pipe_capture(fd, r, &st);
	case CKPT_FD_EVENTFD:
		return fd_eventfd_capture(c, fd, r, target);
	case CKPT_FD_SIGNALFD:
		return fd_signalfd_capture(c, fd, r, target);
	case CKPT_FD_TIMERFD:
		return fd_timerfd_capture(c, fd, r, target);
	case CKPT_FD_EPOLL:
		return fd_epoll_capture(r);
	case CKPT_FD_INOTIFY:
		return fd_inotify_capture(c, fd, r, target);
	case CKPT_FD_UNIX_SOCKET:
		return fd_unix_socket_capture(c, fd, r, target, &st);
	case CKPT_FD_INET_SOCKET:
		return fd_inet_socket_capture(c, fd, r, target);
	default:
		if (str_eq(target, "anon_inode:[pidfd]"))
			return refuse_pidfd(c, fd, target);
		if (S_ISSOCK(st.st_mode))
			return drop_or_fail(c, fd, target, socket_family_text(fd));
		const char *special = special_file_text(fd, &st);
		return drop_or_fail(c, fd, target, special ? special : "");
	}
}

/* fds that share one open file (`2>&1`, dup) must come back shared, or
 * their offsets would diverge and each overwrite the other's output. */
static void find_shared_files(struct capture *c)
{
	int pid = (int)sys_getpid();
	for (uint32_t i = 0; i < c->nfds; i++)
		for (uint32_t j = 0; j < i && fd_kind_has_own_file(c->fds[i].kind); j++)
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
		if (fd_kind_has_own_file(c->fds[i].kind)) {
			long off = sys_lseek(c->fds[i].fd, 0, SEEK_CUR);
			c->fds[i].offset = off > 0 ? (uint64_t)off : 0;
			fd_file_recheck_kept(&c->fds[i]);
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
	if (is_tracking_fd(fd) || fd == smaps_walk_fd(((struct capture *)c)->smaps))
		return 0; /* libckpt's own: its userfaultfd (dirty_tracking.c), the smaps it reads (smaps_walk.c) */
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
	if (tree_share_fds(c) || store_unlinked_contents(c))
		return -1;
	/* The world audit runs here, with the descriptors, so that everything a
	 * restart would refuse fails the checkpoint before any heavy work. */
	if (resolve_pipes(c) || resolve_unix_sockets(c) || capture_locks(c) || capture_epoll_watches(c))
		return -1;
	keep_temp_files(c); /* last: what must be stored (pipes' bytes) has the room first */
	return audit_world(c);
}
