/*
 * One module per kind of descriptor (enum ckpt_fd_kind in ckpt_format.h),
 * each holding everything ckpt knows about its kind: how libckpt captures
 * it (under CKPT_LIB), what a sane record of it looks like (pure checks,
 * compiled into both sides, called by the stub's validation), and how the
 * stub checks the world for it and restores it (under CKPT_STUB).
 *
 * Each phase picks the module with one switch on the kind: capture_fds.c
 * (classify) and world_audit.c in libckpt; validate.c (check_fds),
 * preconditions.c (check_open_files) and fds.c (restore_fds) in the stub.
 * A switch, never a table of function pointers: the stub must have zero
 * relocations. ARCHITECTURE.md, "Adding a kind", has the checklist.
 */
#ifndef CKPT_FD_KINDS_H
#define CKPT_FD_KINDS_H

#include "../ckpt_format.h"
#include "../range.h"

/* The validation's refusals about descriptor records, one text each. */
#define FD_RECORD_INVALID "descriptor record is invalid (corrupt image)"
#define FD_CONTENTS_OUTSIDE "stored file contents lie outside the image (corrupt image)"
#define FD_PIPE_BYTES_OUTSIDE "pipe contents lie outside the image (corrupt image)"
#define FD_REOPENS_INVALID "a second open of a deleted file or memfd names no file it can open again (corrupt image)"

/* Kinds restored from a record of their own (not taken from the restart,
 * not rebuilt per pipe), so a dup can share that open file (shares_with)
 * and its offset is worth reading. */
static inline int fd_kind_has_own_file(uint32_t kind)
{
	switch (kind) {
	case CKPT_FD_FILE:
	case CKPT_FD_PROC:
	case CKPT_FD_DELETED:
	case CKPT_FD_MEMFD:
	case CKPT_FD_FIFO:
	case CKPT_FD_EVENTFD:
	case CKPT_FD_SIGNALFD:
	case CKPT_FD_TIMERFD:
	case CKPT_FD_EPOLL: /* a dup is that same epoll; no offset (lseek: ESPIPE, read as 0) */
	case CKPT_FD_INOTIFY: /* likewise */
	case CKPT_FD_UNIX_SOCKET: /* a dup is that same socket; no offset either */
	case CKPT_FD_INET_SOCKET:
		return 1;
	default:
		return 0;
	}
}

/* A record of a kind that keeps no bytes in the image must point at none. */
static inline const char *fd_stores_nothing(const struct ckpt_fd *f)
{
	return f->content_len ? FD_CONTENTS_OUTSIDE : f->pipe_len ? FD_PIPE_BYTES_OUTSIDE : 0;
}

/* A record's stored file bytes (content_len of them) that do not lie
 * wholly in the image's data area. */
static inline int fd_contents_outside(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	return !within(f->content_offset, f->content_len, h->file_size) || f->content_offset < h->data_offset;
}

/* Record checks: 0 when the record makes sense for its kind, else the
 * refusal. `h` is the image's header, already checked. */
const char *fd_file_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
const char *fd_proc_record_problem(const struct ckpt_fd *f);
const char *fd_inherit_record_problem(const struct ckpt_fd *f);
const char *fd_tty_record_problem(const struct ckpt_fd *f);
const char *fd_pipe_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
const char *fd_fifo_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
const char *fd_unlinked_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
const char *fd_eventfd_record_problem(const struct ckpt_fd *f);
const char *fd_signalfd_record_problem(const struct ckpt_fd *f);
const char *fd_timerfd_record_problem(const struct ckpt_fd *f);
/* fd_pipe.c: the unread bytes of a pipe or FIFO end lie in the data area. */
const char *fd_pipe_bytes_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
/* fd_locks.c: every lock record, against the fd table. */
const char *fd_locks_problem(const struct ckpt_header *h, const char *tables);
const char *fd_epoll_record_problem(const struct ckpt_fd *f);
const char *fd_unix_socket_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
const char *fd_inet_socket_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h);
/* The index of fd's record in a table sorted by fd (validate.c checks the
 * order before any table check that looks records up), or n without one. */
static inline uint32_t fd_record_index(const struct ckpt_fd *f, uint32_t n, int32_t fd)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && f[lo].fd == fd ? lo : n;
}
/* fd_unlinked.c: every record that opens a deleted file or memfd again
 * (reopens), against the fd table: a lower record of its kind holding it. */
const char *fd_unlinked_reopens_problem(const struct ckpt_header *h, const char *tables);
/* fd_epoll.c: every epoll watch record, against the fd table. */
const char *fd_epoll_watches_problem(const struct ckpt_header *h, const char *tables);
const char *fd_inotify_record_problem(const struct ckpt_fd *f);
/* fd_async.c: any record's O_ASYNC owner and signal. */
const char *fd_async_record_problem(const struct ckpt_fd *f);
/* fd_inotify.c: every inotify watch record, against the fd table. */
const char *fd_inotify_watches_problem(const struct ckpt_header *h, const char *tables);

/* Whether one open description of this record may be held by several
 * processes of a tree (share_pid, share_fd; docs/process-trees.md,
 * "Descriptors between members"): the restart's root makes it once, before
 * it forks, from its first holder's record with the kind's own restore
 * code (c/stub/tree_shared.c), and every holder takes a dup. A kind whose
 * record alone does not describe the description stays out: an inotify's
 * watches are a table of its holder's image, keyed by its fd numbers, and
 * a terminal, /proc file or FIFO is restored through more than its
 * record. An epoll is in, made empty: its interest list is its first
 * holder's (every holder sees the same one), registered by that holder
 * alone, through its own fds, as without a tree. A deleted file or memfd is its record and its
 * bytes in the first holder's image, which the root reads (tcl's
 * `open "|cmd"` and Python's subprocess with a TemporaryFile give a child
 * a stderr or stdout they share so); a memfd's seals are in its record,
 * and a shared mapping of either beside a descriptor is refused. Checked on the capture's
 * record (tree_fds.c) and on the image's (validate.c, the reader). */
static inline int fd_shared_in_tree(const struct ckpt_fd *f)
{
	switch (f->kind) {
	case CKPT_FD_FILE:
	case CKPT_FD_PIPE_READ:
	case CKPT_FD_PIPE_WRITE: /* made per pipe, by pipe_id */
	case CKPT_FD_INHERIT: /* the root's, from the launch */
	case CKPT_FD_EVENTFD: /* its counter once, from the first holder's record */
	case CKPT_FD_SIGNALFD: /* a mask: what it reads is the reader's own */
	case CKPT_FD_TIMERFD: /* armed once, by its first holder (fd_timerfd_arm) */
	case CKPT_FD_DELETED: /* made and named again once, its offset the holders' one */
	case CKPT_FD_MEMFD:   /* made once with its name and seals (a shared mapping of
			       * it beside a descriptor is refused: tree_shared_memory.c) */
	case CKPT_FD_EPOLL:   /* made once, empty; its first holder's image holds the
			       * interest list, which that holder registers (fd_epoll.c) */
		return 1;
	case CKPT_FD_UNIX_SOCKET: /* a pair by its ends' inodes (fd_unix_socket.c); */
	case CKPT_FD_INET_SOCKET: /* else unbound, bound, listening, a datagram socket
				   * connected to an address (connected again by its first
				   * holder), made once. A connection that comes back closed
				   * by its peer is a stand-in made per record, not the one
				   * connection the processes shared. */
		return f->sock_state != CKPT_SOCK_PEER_CLOSED;
	default:
		return 0;
	}
}

#ifdef CKPT_LIB
struct capture;
struct stat;
/* Capture: fill `r` (fd, flags and kind are set) and return 1 to keep it,
 * 0 when dropped (drop_or_fail), -1 with c->error set to fail. */
int fd_file_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st);
int fd_proc_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
int fd_inherit_capture(struct ckpt_fd *r);
int fd_tty_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
int fd_pipe_capture(int fd, struct ckpt_fd *r, const struct stat *st);
int fd_fifo_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st);
int fd_unlinked_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st);
int fd_eventfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
int fd_signalfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
int fd_timerfd_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
/* fd_unlinked.c: DELETED or MEMFD, for the target of a deleted file. */
uint32_t fd_unlinked_kind(const char *target);
/* fd_unlinked.c, once dups, reopens and a tree's sharing are known: the
 * bytes of each file, stored once, by the record that holds it. */
int store_unlinked_contents(struct capture *c);
/* fd_unlinked.c: r->content_len bytes of r's file into the stored bytes
 * (c->pipe_data; the caller checked there is room), read through a fresh
 * read-only open, so that the fd's offset stays put: 0, -errno when it
 * cannot be opened, 1 when the file is shorter. */
long fd_contents_copy(struct capture *c, struct ckpt_fd *r);
/* fd_file.c, once dups and a tree's sharing are known: the bytes of each
 * file in a temporary directory, kept while there is room; never fails. */
void keep_temp_files(struct capture *c);
/* fd_file.c, as offsets are read again after ckpt's own lines went out
 * (refresh_file_offsets): a kept file that has grown since is not kept. */
void fd_file_recheck_kept(struct ckpt_fd *r);
/* fd_proc.c: whether readlink's `target` is a /proc or /sys file. */
int is_proc_path(const char *target);
/* fd_pipe.c: keeps pipes and FIFOs whose both ends the process (or the
 * tree) holds, and pipe ends whose other end no process holds any more,
 * with their unread bytes; drops or refuses the others. */
int resolve_pipes(struct capture *c);
/* fd_locks.c: every lock the program holds, into c->locks. */
int capture_locks(struct capture *c);
int fd_epoll_capture(struct ckpt_fd *r);
int fd_unix_socket_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st);
/* c/lib/socket_queue.c: pairs connected Unix sockets whose both ends the
 * process holds, and peeks the bytes each has waiting. */
int resolve_unix_sockets(struct capture *c);
/* socket_queue.c: the bytes a Unix or TCP socket has waiting, peeked into
 * the stored bytes (pipe_len…), or a refusal (fds in flight, OOB data). */
int capture_socket_queue(struct capture *c, struct ckpt_fd *r);
int fd_inet_socket_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
/* fd_epoll.c: every epoll's interest list, into c->watches; each watch on
 * a kept fd, registered under the number of the file it names. */
int capture_epoll_watches(struct capture *c);
/* fd_inotify.c: the instance, and its watches into c->inotify, each by the
 * path the program gave (c/lib/inotify_calls.c), checked to lead to it. */
int fd_inotify_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target);
/* fd_file.c: a descriptor reopened by path (FILE, FIFO): the path must
 * still lead to it, and the program may still open it so. */
int fd_path_audit(struct capture *c, const struct ckpt_fd *r);
/* fd_file.c: whether `path` leads to the very file `want` (device, inode). */
int path_leads_to(const char *path, const struct stat *want);
/* fd_async.c: an O_ASYNC descriptor's owner and signal into r, or -1 with
 * `why` (signal-driven I/O the restart could not aim again). */
int fd_async_capture(int fd, struct ckpt_fd *r, const char **why);
#endif

#ifdef CKPT_STUB
/* World checks before anything is torn down; each refusal ends the restart. */
void fd_file_check_world(const struct ckpt_fd *f, const char *path);
/* Restore: open, place at f->fd (fd_place.c). Kinds restored per pipe take
 * the whole table and act at the first record of each pipe. */
void fd_file_restore(const struct ckpt_fd *f, const char *path, int image_fd);
/* fd_file.c: a kept file (CKPT_FILE_KEPT) whose path is gone made again
 * from its bytes in `image_fd`; nothing for any other. */
void fd_file_remake(const struct ckpt_fd *f, const char *path, int image_fd);
/* fd_file.c: the file opened again as the record says, at a high number
 * (for a description a tree's processes share: c/stub/tree_shared.c). */
int fd_file_reopen(const struct ckpt_fd *f, const char *path);
void fd_inherit_restore(const struct ckpt_fd *f);
void fd_tty_restore(const struct ckpt_fd *f, const char *path);
void fd_pipe_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t i, int image_fd);
void fd_fifo_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *strings, int image_fd);
/* fd_unlinked.c: a record that reopens (another open of a file made once)
 * is opened again on file_fd, a description of that file; else made. */
void fd_unlinked_restore(const struct ckpt_fd *f, const char *name, int image_fd, int file_fd);
int fd_unlinked_make(const struct ckpt_fd *f, const char *name, int image_fd);
int fd_unlinked_reopen(const struct ckpt_fd *f, int file_fd);
/* fd_<kind>_make: the description a record says, at a high number, not yet
 * placed: what fd_<kind>_restore places, and what a tree's root makes
 * once for every holder of a shared one (c/stub/tree_shared.c). */
int fd_eventfd_make(const struct ckpt_fd *f);
int fd_epoll_make(void);
int fd_signalfd_make(const struct ckpt_fd *f);
int fd_timerfd_make(const struct ckpt_fd *f);
int fd_unix_socket_make(const struct ckpt_fd *f, const char *name);
int fd_inet_socket_make(const struct ckpt_fd *f, const char *name, int image_fd);
void fd_eventfd_restore(const struct ckpt_fd *f);
void fd_signalfd_restore(const struct ckpt_fd *f);
void fd_timerfd_restore(const struct ckpt_fd *f);
void fd_epoll_restore(const struct ckpt_fd *f);
void fd_inotify_restore(const struct ckpt_fd *f);
/* fd_inotify.c: every watched path still there (before teardown); in
 * phase 2, the events the restart itself caused read away. */
void fd_inotify_check_world(const struct ckpt_header *h, const char *tables);
void fd_inotify_drain(const struct ckpt_fd *fds, uint32_t n);
void fd_unix_socket_check_world(const struct ckpt_fd *f, const char *name);
/* fd_unix_socket.c: for a pair or peer-closed end, the index of a
 * listener at its name, or its pair's named end's, in the same table (its
 * check covers the name, and the pair is made through it), or -1. */
int fd_unix_listener_of(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *strings);
/* `listener`: the fd of the listener a named end is made through, when
 * this process has it back already (c/stub/fds.c), else -1. */
void fd_unix_socket_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *strings, int image_fd, int listener);
/* fd_unix_socket.c, for the root of a tree: the pair sv made again as its
 * ends' first holders' records a and b (in images image_a, image_b) say:
 * options, each end's unread bytes (sent through the other), shutdown. */
void fd_unix_socket_fill_pair(const int sv[2], const struct ckpt_fd *a, int image_a, const struct ckpt_fd *b, int image_b);
/* fd_unix_socket.c, likewise for a connection end `s` whose peer is gone:
 * its unread bytes sent through `client`, which is then closed. */
void fd_unix_socket_fill_closed(int s, int client, const struct ckpt_fd *f, int image_fd);
/* "/path" or "@abstract" into a sockaddr_un: its length, 0 if too long. */
struct sockaddr_un;
uint32_t fd_unix_address(const char *name, struct sockaddr_un *a);
/* fd_unix_named.c: the connected pair sv of records a and b, one of which
 * has a name (accepted from a listener at that address): made through
 * `listener` when this process has it back already, else through one
 * bound there for the moment. */
void fd_unix_named_pair(const struct ckpt_fd *a, const char *a_name, const struct ckpt_fd *b, const char *b_name,
			int listener, int sv[2]);
/* fd_unix_socket.c, once every fd is back: datagram sockets connected again. */
void fd_unix_socket_connect(const struct ckpt_fd *fds, uint32_t n, const char *strings);
void fd_inet_socket_restore(const struct ckpt_fd *f, const char *name, int image_fd);
/* fd_inet_socket.c, once every fd is back: UDP sockets connected again. */
void fd_inet_socket_connect(const struct ckpt_fd *fds, uint32_t n, const char *strings);
/* fd_tty.c, phase 2: the saved modes of TTY fds, once nothing can fail. */
void fd_tty_restore_modes(const struct ckpt_fd *fds, uint32_t n);
/* fd_async.c, once every fd is back: O_ASYNC descriptors aimed again (at
 * the tree's root: the header's tree_root_pid, kept by a tree's restart). */
void fd_async_restore(const struct ckpt_fd *fds, uint32_t n, int32_t tree_root_pid);
/* fd_timerfd.c, phase 2: arm every timerfd with its time left, as late as
 * the POSIX timers are, so the time spent stopped does not count. */
void fd_timerfd_arm(const struct ckpt_fd *fds, uint32_t n);
#endif

#endif
