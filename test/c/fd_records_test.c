/* The descriptor kinds' record checks (c/kinds/fd_*.c, the part compiled
 * into both sides) against libc: for each kind, a sane record passes and
 * each field it must not have, or must have in range, is refused with the
 * stub's words. The restore stub calls exactly these on every image. Prints
 * "N passed, M failed". */
#include <stdio.h>
#include <string.h>
#include "../../c/kinds/fd_kinds.h"
#include "problem_check.h"


/* An image of 64 KiB whose data area starts at 16 KiB, 64 bytes of strings. */
static const struct ckpt_header h = {.data_offset = 16384, .file_size = 65536, .strings_size = 64};

static struct ckpt_fd rec(uint32_t kind)
{
	return (struct ckpt_fd){.fd = 3, .kind = kind, .path_str = 1, .size = 65536};
}

/* The kinds that keep nothing in the image refuse stray contents or bytes. */
static void stores_nothing(uint32_t kind, const char *(*problem)(const struct ckpt_fd *), int needs_path)
{
	struct ckpt_fd f = rec(kind);
	check(problem(&f), 0, "a plain record");
	f.path_str = 0;
	check(problem(&f), needs_path ? FD_RECORD_INVALID : 0, "no path");
	f = rec(kind);
	f.content_len = 1;
	f.pipe_len = 1;
	check(problem(&f), FD_CONTENTS_OUTSIDE, "stored contents, and pipe bytes");
	f.content_len = 0;
	check(problem(&f), FD_PIPE_BYTES_OUTSIDE, "pipe bytes");
}

static void pipe_bytes(uint32_t kind, const char *(*problem)(const struct ckpt_fd *, const struct ckpt_header *))
{
	struct ckpt_fd f = rec(kind);
	f.pipe_len = 100, f.pipe_data_offset = 16384;
	check(problem(&f, &h), 0, "unread bytes in the data area");
	f.pipe_data_offset = 16000;
	check(problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "unread bytes in the tables");
	f.pipe_data_offset = 65500;
	check(problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "unread bytes past the end");
	f.pipe_data_offset = ~0ull - 10;
	check(problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "an offset that wraps around");
	f.pipe_data_offset = 16384, f.size = 99;
	check(problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "more unread bytes than the pipe holds");
	f.size = 65536, f.content_len = 1;
	check(problem(&f, &h), FD_CONTENTS_OUTSIDE, "stored file contents");
}

/* A file keeps bytes only when kept (CKPT_FILE_KEPT): all of it, in the
 * data area, on its own open file; otherwise it stores nothing. */
static void kept_file(void)
{
	struct ckpt_fd f = rec(CKPT_FD_FILE);
	check(fd_file_record_problem(&f, &h), 0, "a plain file");
	f.path_str = 0;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a file without a path");
	f = rec(CKPT_FD_FILE);
	f.content_len = 1;
	check(fd_file_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "stored contents on a file not kept");
	f.content_len = 0, f.pipe_len = 1;
	check(fd_file_record_problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "pipe bytes on a file");
	f = rec(CKPT_FD_FILE);
	f.kind_flags = CKPT_FILE_KEPT, f.size = 4096, f.content_len = 4096, f.content_offset = 20480, f.mode = 0600;
	check(fd_file_record_problem(&f, &h), 0, "a kept file, its bytes in the data area");
	f.content_offset = 4096;
	check(fd_file_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "a kept file's bytes in the tables");
	f.content_offset = 65000;
	check(fd_file_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "a kept file's bytes past the end");
	f.content_offset = 20480, f.content_len = 100;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a kept file's bytes not the whole file");
	f.content_len = 4096, f.shares_with = 1;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a kept file that is a dup");
	f.shares_with = 0, f.share_pid = 7;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a kept file held first by another process");
	f.share_pid = 0, f.mode = 010000;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a kept file's mode beyond the permission bits");
	f.mode = 0600, f.kind_flags = 2;
	check(fd_file_record_problem(&f, &h), FD_RECORD_INVALID, "a file flag that does not exist");
	f = rec(CKPT_FD_FILE);
	f.kind_flags = CKPT_FILE_KEPT, f.size = 0;
	check(fd_file_record_problem(&f, &h), 0, "a kept empty file");
}

static void unlinked(uint32_t kind)
{
	struct ckpt_fd f = rec(kind);
	f.content_len = 4096, f.content_offset = 20480;
	check(fd_unlinked_record_problem(&f, &h), 0, "contents in the data area");
	f.path_str = 0;
	check(fd_unlinked_record_problem(&f, &h), kind == CKPT_FD_DELETED ? FD_RECORD_INVALID : 0,
	      "no name (a memfd's may be empty)");
	f.path_str = 1, f.content_offset = 4096;
	check(fd_unlinked_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "contents in the tables");
	f.content_offset = 65536 - 4095;
	check(fd_unlinked_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "contents past the end");
	f.content_offset = 20480, f.shares_with = 3;
	check(fd_unlinked_record_problem(&f, &h), FD_CONTENTS_OUTSIDE, "contents on a dup");
	f.shares_with = 0, f.pipe_len = 1;
	check(fd_unlinked_record_problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "pipe bytes");
}

/* The event-loop kinds: their state in range, as the kernel would take it. */
static void event_fds(void)
{
	struct ckpt_fd f = rec(CKPT_FD_EVENTFD);
	f.count = 0xfffffffffffffffeull, f.kind_flags = 1;
	check(fd_eventfd_record_problem(&f), 0, "the largest eventfd counter, a semaphore");
	f.count++;
	check(fd_eventfd_record_problem(&f), FD_RECORD_INVALID, "an eventfd counter no write can set");
	f.count = 0, f.kind_flags = 2;
	check(fd_eventfd_record_problem(&f), FD_RECORD_INVALID, "an unknown eventfd flag");
	f = rec(CKPT_FD_SIGNALFD);
	f.sigmask = ~0ull;
	check(fd_signalfd_record_problem(&f), 0, "a signalfd taking every signal");
	f = rec(CKPT_FD_TIMERFD);
	f.clock = 7, f.kind_flags = 1, f.count = 5, f.interval_nsec = 999999999, f.remaining_sec = 1ll << 40;
	check(fd_timerfd_record_problem(&f), 0, "an absolute CLOCK_BOOTTIME timerfd, 5 unread");
	f.clock = 8;
	check(fd_timerfd_record_problem(&f), FD_RECORD_INVALID, "an alarm clock");
	f.clock = 1, f.kind_flags = 2;
	check(fd_timerfd_record_problem(&f), FD_RECORD_INVALID, "TFD_TIMER_CANCEL_ON_SET");
	f.kind_flags = 0, f.interval_nsec = 1000000000;
	check(fd_timerfd_record_problem(&f), FD_RECORD_INVALID, "a second of nanoseconds");
	f.interval_nsec = 0, f.remaining_sec = -1;
	check(fd_timerfd_record_problem(&f), FD_RECORD_INVALID, "a negative time left");
}

static const char *lock_problem(uint32_t fd_kind, uint32_t shares_with, struct ckpt_lock l)
{
	static char t[4096];
	struct ckpt_header lh = {.nfds = 1, .fds_off = 0, .nlocks = 1, .locks_off = 1024};
	struct ckpt_fd f = rec(fd_kind);
	f.shares_with = shares_with;
	memcpy(t, &f, sizeof f);
	memcpy(t + 1024, &l, sizeof l);
	return fd_locks_problem(&lh, t);
}

static void locks(void)
{
	const char *invalid = "lock record is invalid (corrupt image)";
	struct ckpt_lock posix = {.fd = 3, .kind = CKPT_LOCK_POSIX, .type = 1, .start = 10, .len = 5};
	check(lock_problem(CKPT_FD_FILE, 0, posix), 0, "a POSIX lock on a file");
	check(lock_problem(CKPT_FD_MEMFD, 0, posix), 0, "a POSIX lock on a memfd");
	check(lock_problem(CKPT_FD_PIPE_READ, 0, posix), invalid, "a lock on a pipe");
	check(lock_problem(CKPT_FD_PROC, 0, posix), invalid, "a lock on a /proc file");
	check(lock_problem(CKPT_FD_FILE, 1, posix), invalid, "a lock on a dup");
	struct ckpt_lock l = posix;
	l.fd = 4;
	check(lock_problem(CKPT_FD_FILE, 0, l), invalid, "a lock on no restored fd");
	l = posix, l.kind = CKPT_LOCK_KIND_MAX + 1;
	check(lock_problem(CKPT_FD_FILE, 0, l), invalid, "an unknown lock kind");
	l = posix, l.type = 2;
	check(lock_problem(CKPT_FD_FILE, 0, l), invalid, "neither read nor write");
	l = posix, l.kind = CKPT_LOCK_FLOCK;
	check(lock_problem(CKPT_FD_FILE, 0, l), invalid, "flock with a range");
	l.start = l.len = 0;
	check(lock_problem(CKPT_FD_FILE, 0, l), 0, "flock on the whole file");
	l = posix, l.len = (1ull << 62) + 1;
	check(lock_problem(CKPT_FD_FILE, 0, l), invalid, "a range past off_t");
}

static void unix_sockets(void)
{
	struct ckpt_fd f = rec(CKPT_FD_UNIX_SOCKET);
	f.sock_family = 1, f.sock_type = 1 /* SOCK_STREAM */, f.sock_state = CKPT_SOCK_PAIR, f.shutdown = 3, f.peek_off = -1;
	f.pipe_len = 100, f.pipe_data_offset = 16384, f.size = 100;
	check(fd_unix_socket_record_problem(&f, &h), 0, "a stream pair shut both ways, 100 bytes unread");
	f.pipe_data_offset = 65500;
	check(fd_unix_socket_record_problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "a socket's unread bytes past the end");
	f.pipe_data_offset = 16384, f.sock_state = CKPT_SOCK_LISTEN;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "unread bytes on a listening socket");
	f.pipe_len = 0;
	check(fd_unix_socket_record_problem(&f, &h), 0, "a listening stream socket");
	f.sock_type = 2 /* SOCK_DGRAM */;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a listening datagram socket");
	f.sock_state = CKPT_SOCK_CONNECTED;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a connected datagram socket with no peer address");
	f.peer_str = 1;
	check(fd_unix_socket_record_problem(&f, &h), 0, "a datagram socket connected to an address");
	f.peer_str = 64;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a peer address outside the strings");
	f.peer_str = 1;
	f.sock_type = 3 /* SOCK_RAW */;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a raw socket");
	f.sock_type = 5, f.sock_state = CKPT_SOCK_STATE_MAX + 1;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "an unknown state");
	f.sock_state = CKPT_SOCK_UNBOUND, f.shutdown = 4;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "an unknown shutdown bit");
	f.shutdown = 0, f.sock_flags = 4;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "an unknown option flag");
	f.sock_flags = 0, f.peek_off = -2;
	check(fd_unix_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a negative peek offset other than off");
}

static void inet_sockets(void)
{
	struct ckpt_fd f = rec(CKPT_FD_INET_SOCKET);
	f.sock_family = 2, f.sock_type = 1 /* SOCK_STREAM */, f.sock_state = CKPT_SOCK_LISTEN, f.backlog = 128, f.peek_off = -1;
	f.sock_flags = CKPT_SOCK_REUSEADDR | CKPT_SOCK_NODELAY, f.size = 0;
	check(fd_inet_socket_record_problem(&f, &h), 0, "a TCP listener");
	f.sock_family = 1;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "an inet socket of the Unix family");
	f.sock_family = 10, f.sock_state = CKPT_SOCK_PAIR;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a TCP pair");
	f.sock_state = CKPT_SOCK_CONNECTED;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a connected TCP socket");
	f.sock_type = 2, f.peer_str = 1;
	check(fd_inet_socket_record_problem(&f, &h), 0, "a connected UDP socket");
	f.sock_state = CKPT_SOCK_LISTEN;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a listening UDP socket");
	f.sock_state = CKPT_SOCK_BOUND, f.path_str = 0;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "bound, with no address");
	f.path_str = 1, f.sock_flags = CKPT_SOCK_PASSCRED;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "SO_PASSCRED on a UDP socket");
	f.sock_flags = 0, f.pipe_len = 1, f.pipe_data_offset = 16384, f.size = 1;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "unread bytes on a bound UDP socket");
	f.sock_type = 1, f.sock_state = CKPT_SOCK_PEER_CLOSED, f.shutdown = 2;
	check(fd_inet_socket_record_problem(&f, &h), 0, "a TCP connection closed at restart, shut for writing, 1 byte unread");
	f.pipe_data_offset = 65536;
	check(fd_inet_socket_record_problem(&f, &h), FD_PIPE_BYTES_OUTSIDE, "its unread bytes past the end");
	f.pipe_data_offset = 16384, f.peer_str = 0;
	check(fd_inet_socket_record_problem(&f, &h), FD_RECORD_INVALID, "a closed TCP connection without its peer's address");
}

int main(void)
{
	kept_file();
	stores_nothing(CKPT_FD_PROC, fd_proc_record_problem, 1);
	stores_nothing(CKPT_FD_INHERIT, fd_inherit_record_problem, 0);
	stores_nothing(CKPT_FD_TTY, fd_tty_record_problem, 0);
	pipe_bytes(CKPT_FD_PIPE_READ, fd_pipe_record_problem);
	pipe_bytes(CKPT_FD_FIFO, fd_fifo_record_problem);
	struct ckpt_fd w = rec(CKPT_FD_PIPE_WRITE);
	w.pipe_len = 1, w.pipe_data_offset = 16384;
	check(fd_pipe_record_problem(&w, &h), FD_PIPE_BYTES_OUTSIDE, "unread bytes on a write end");
	struct ckpt_fd fifo = rec(CKPT_FD_FIFO);
	fifo.path_str = 0;
	check(fd_fifo_record_problem(&fifo, &h), FD_RECORD_INVALID, "a FIFO without a path");
	unlinked(CKPT_FD_DELETED);
	unlinked(CKPT_FD_MEMFD);
	stores_nothing(CKPT_FD_EVENTFD, fd_eventfd_record_problem, 0);
	stores_nothing(CKPT_FD_SIGNALFD, fd_signalfd_record_problem, 0);
	stores_nothing(CKPT_FD_TIMERFD, fd_timerfd_record_problem, 0);
	event_fds();
	unix_sockets();
	inet_sockets();
	locks();
	for (uint32_t k = 0; k <= CKPT_FD_KIND_MAX + 1; k++) {
		int own = k == CKPT_FD_FILE || k == CKPT_FD_PROC || k == CKPT_FD_DELETED || k == CKPT_FD_MEMFD || k == CKPT_FD_FIFO ||
			  k == CKPT_FD_EVENTFD || k == CKPT_FD_SIGNALFD || k == CKPT_FD_TIMERFD || k == CKPT_FD_EPOLL || k == CKPT_FD_UNIX_SOCKET || k == CKPT_FD_INET_SOCKET || k == CKPT_FD_INOTIFY;
		check(fd_kind_has_own_file(k) == own ? 0 : "wrong", 0, "which kinds may be shared by a dup");
	}
	return problem_report();
}
