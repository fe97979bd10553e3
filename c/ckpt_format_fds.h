/*
 * ckpt image format, the descriptor records: part of c/ckpt_format.h (which
 * includes it; include that, never this), split out so the kinds of open
 * file each have room to grow. Same rules: src/image/format.ts mirrors
 * every struct field by field, and a change bumps CKPT_VERSION there.
 */
#ifndef CKPT_FORMAT_FDS_H
#define CKPT_FORMAT_FDS_H

#include <stdint.h>

enum ckpt_fd_kind {
	CKPT_FD_FILE = 1,       /* reopened by path at its offset */
	CKPT_FD_PIPE_READ = 2,  /* read end of a pipe whose both ends we held */
	CKPT_FD_PIPE_WRITE = 3, /* its write end */
	CKPT_FD_INHERIT = 4,    /* 0-2 terminal/pipe/socket: taken from restart */
	CKPT_FD_TTY = 5,        /* the controlling terminal beyond 0-2 (/dev/tty):
				 * the restart's controlling terminal, reopened */
	CKPT_FD_PROC = 6,       /* /proc or /sys file: reopened by path, no size */
	CKPT_FD_DELETED = 7,    /* deleted file: recreated unlinked from its contents */
	CKPT_FD_MEMFD = 8,      /* memfd: recreated with its name, contents and seals */
	CKPT_FD_FIFO = 9,       /* named FIFO whose both ends we held: reopened by path */
	CKPT_FD_EVENTFD = 10,   /* eventfd: created again with its counter and flags */
	CKPT_FD_SIGNALFD = 11,  /* signalfd: created again with its mask */
	CKPT_FD_TIMERFD = 12,   /* timerfd: created again on its clock, armed as it was */
	CKPT_FD_EPOLL = 13,     /* epoll: created again, its interest list (the watch
				 * table) registered once every other fd is back */
	CKPT_FD_UNIX_SOCKET = 14, /* AF_UNIX socket: created again in its state
				   * (enum ckpt_sock_state), with its unread bytes */
	CKPT_FD_INET_SOCKET = 15, /* TCP or UDP socket, IPv4 or IPv6: a listener or
				   * a bound or connected UDP socket, created again */
	CKPT_FD_INOTIFY = 16,   /* inotify: created again, its watches (the inotify
				 * table) added by path under their wd numbers */
};
#define CKPT_FD_KIND_MAX CKPT_FD_INOTIFY

/* What a Unix socket was, so what the restart makes of it. */
enum ckpt_sock_state {
	CKPT_SOCK_UNBOUND = 1,     /* socket() and nothing since */
	CKPT_SOCK_BOUND = 2,       /* bound to its address (path_str), not listening */
	CKPT_SOCK_LISTEN = 3,      /* bound and listening, `backlog` */
	CKPT_SOCK_PAIR = 4,        /* connected to another record (peer_id), and it to
				    * this one, both unnamed: a socketpair */
	CKPT_SOCK_PEER_CLOSED = 5, /* connected, its peer gone or not kept (TCP, a Unix
				    * peer in another process): reads its unread
				    * bytes, then EOF */
	CKPT_SOCK_CONNECTED = 6,   /* datagram (Unix or UDP), connected to the address peer_str */
};
#define CKPT_SOCK_STATE_MAX CKPT_SOCK_CONNECTED

/* A FILE record's kind_flags (version 12): the file, in a temporary
 * directory, has its bytes in the image (content_offset, content_len: its
 * size, content_crc; mode: its permission bits), and a restart that finds
 * its path gone makes it again from them (c/kinds/fd_file.c). */
#define CKPT_FILE_KEPT 1u

/* sock_flags: boolean options set again at restart (the first two on any
 * socket, the others on TCP and UDP ones). */
#define CKPT_SOCK_PASSCRED 1u
#define CKPT_SOCK_REUSEADDR 2u
#define CKPT_SOCK_REUSEPORT 4u
#define CKPT_SOCK_V6ONLY 8u   /* IPV6_V6ONLY */
#define CKPT_SOCK_NODELAY 16u /* TCP_NODELAY */
#define CKPT_SOCK_KEEPALIVE 32u
/* Unix, version 15: a socket file was at a connection's name (path_str)
 * at checkpoint, so the one its restart makes there stays (fd_unix_named.c). */
#define CKPT_SOCK_NAME_FILE 64u

struct ckpt_fd {
	int32_t fd;
	uint32_t kind;               /* enum ckpt_fd_kind */
	uint32_t open_flags;         /* F_GETFL */
	uint32_t fd_flags;           /* F_GETFD */
	uint64_t offset, size;
	uint32_t path_str;
	uint32_t pipe_len;           /* bytes unread in the pipe (read end) */
	uint64_t pipe_id;            /* pipe inode: pairs the two ends */
	uint64_t pipe_data_offset;
	uint32_t pipe_crc;
	uint32_t shares_with;        /* 1 + a lower fd on the same open file, or 0 */
	/* tty: CKPT_FD_TTY only, its modes (0-2 keep theirs in the header) */
	struct ckpt_termios termios;
	/* version 2: DELETED and MEMFD carry their file's bytes in the data area */
	uint64_t content_offset;
	uint64_t content_len;        /* the file's size */
	uint32_t content_crc;
	uint32_t seals;              /* MEMFD: F_GET_SEALS */
	uint32_t mode;               /* DELETED, MEMFD: permission bits */
	uint32_t reopens;            /* version 8, DELETED and MEMFD: 1 + the fd whose file this
				      * open file description opens again, with its own offset
				      * and flags (that record holds the file and its bytes), in
				      * this process, or in share_pid's when share_pid is set
				      * (then reopens is 1 + share_fd); 0: it holds its file */
	/* version 3: the event-loop kinds (c/kinds/fd_{eventfd,signalfd,timerfd}.c); else 0 */
	uint64_t count;              /* EVENTFD: the counter; TIMERFD: expirations not yet read;
				      * INOTIFY: the last wd it handed out (the next is one more) */
	uint64_t sigmask;            /* SIGNALFD: the signals it takes (bit n-1: signal n) */
	int32_t clock;               /* TIMERFD: its clockid */
	uint32_t kind_flags;         /* EVENTFD: EFD_SEMAPHORE; TIMERFD: TFD_TIMER_ABSTIME;
				      * FILE (version 12): CKPT_FILE_KEPT */
	int64_t interval_sec, interval_nsec;   /* TIMERFD: it_interval */
	int64_t remaining_sec, remaining_nsec; /* TIMERFD: time to the next expiry (of an
						* absolute CLOCK_REALTIME one: its time); both 0: disarmed */
	/* version 4: sockets (c/kinds/fd_unix_socket.c, fd_inet_socket.c); else 0.
	 * Its own address is path_str: a Unix one "" unnamed, "@name" abstract,
	 * or its path; a TCP/UDP one "a.b.c.d:port" or "[h:h:h:h:h:h:h:h]:port"
	 * (eight groups, none left out), "" unbound. The bytes a Unix socket has
	 * waiting are pipe_len/pipe_data_offset/pipe_crc, a datagram socket's as
	 * one 4-byte length before each message. */
	uint64_t sock_id;            /* the socket's inode: pairs it with its peer */
	uint64_t peer_id;            /* PAIR: the peer's inode */
	uint32_t sock_type;          /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint32_t sock_state;         /* enum ckpt_sock_state */
	uint32_t backlog;            /* LISTEN: listen()'s backlog */
	uint32_t shutdown;           /* 1: no more reads, 2: no more writes (sk_shutdown) */
	uint32_t rcvbuf, sndbuf;     /* SO_RCVBUF, SO_SNDBUF as getsockopt gives them */
	uint32_t sock_flags;         /* CKPT_SOCK_PASSCRED | CKPT_SOCK_REUSEADDR */
	int32_t peek_off;            /* SO_PEEK_OFF; -1: off */
	int64_t rcvtimeo_usec, sndtimeo_usec; /* SO_RCVTIMEO, SO_SNDTIMEO; 0: none */
	uint32_t peer_str;           /* CONNECTED, PEER_CLOSED: the peer's address ("" none) */
	uint32_t sock_family;        /* AF_UNIX 1, AF_INET 2, AF_INET6 10 */
	/* version 6, process trees: the same open file description (kcmp
	 * KCMP_FILE) is held by a member earlier in the tree order, at fd
	 * share_fd of process share_pid; the restart makes the description
	 * once and gives it to every holder. 0, 0: held by no earlier member.
	 * With reopens (version 8): not the description, the deleted file. */
	int32_t share_pid, share_fd;
	/* version 14: signal-driven I/O, O_ASYNC in open_flags (c/kinds/fd_async.c):
	 * whom its signal goes to, and which signal. 0, 0 without O_ASYNC. */
	uint32_t async_owner;        /* enum ckpt_async_owner */
	int32_t async_signal;        /* F_GETSIG: 0 is SIGIO */
};

/* Whom an O_ASYNC descriptor's signal goes to, as the restart can name it
 * again (a pid of the tree keeps its number there; one thread does not). */
enum ckpt_async_owner {
	CKPT_ASYNC_NONE = 0,   /* no O_ASYNC */
	CKPT_ASYNC_NOBODY = 1, /* O_ASYNC with no owner: no signal is sent */
	CKPT_ASYNC_SELF = 2,   /* this process */
	CKPT_ASYNC_GROUP = 3,  /* this process's group */
	CKPT_ASYNC_ROOT = 4,   /* the root of its tree (another process) */
	CKPT_ASYNC_OWNER_MAX = 4,
};

/* One entry of an epoll's interest list (/proc/self/fdinfo: tfd, events,
 * data), registered again by the stub after every descriptor is back. The
 * watch table is sorted by epfd. */
struct ckpt_epoll_watch {
	int32_t epfd;                /* the epoll's fd */
	int32_t fd;                  /* the watched fd (an fd of the fd table) */
	uint32_t events;             /* EPOLLIN…, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE */
	uint32_t pad;
	uint64_t data;               /* epoll_data as the program set it */
};

/* One watch of an inotify instance, version 4 (c/kinds/fd_inotify.c):
 * added again by path at restart under the same wd. The inotify table is
 * sorted by fd, then wd. */
struct ckpt_inotify_watch {
	int32_t fd;                  /* the instance's fd (an INOTIFY record, not a dup) */
	int32_t wd;                  /* the watch descriptor the program holds */
	uint32_t mask;               /* as the kernel holds it: events, IN_ONESHOT,
				      * IN_EXCL_UNLINK (IN_MASK_ADD already applied) */
	uint32_t add_flags;          /* IN_DONT_FOLLOW, IN_ONLYDIR as the program passed them */
	uint64_t ino;                /* the watched inode at checkpoint (fdinfo) */
	uint64_t dev;                /* its device, in the kernel's encoding (fdinfo sdev:
				      * major << 20 | minor) */
	uint32_t path_str;           /* the absolute path the program watched it by */
	uint32_t pad;
};
/* The highest wd an image may hold: the stub reaches wd N by adding and
 * removing a filler watch N - 1 times at most (wds come cyclically). */
#define CKPT_INOTIFY_MAX_WD (1 << 22)

enum ckpt_lock_kind {
	CKPT_LOCK_POSIX = 1, /* fcntl F_SETLK: the process's, on the file */
	CKPT_LOCK_OFD = 2,   /* F_OFD_SETLK: the open file description's */
	CKPT_LOCK_FLOCK = 3, /* flock(): the open file description's, whole file */
	CKPT_LOCK_LEASE = 4, /* F_SETLEASE: the open file description's */
};
#define CKPT_LOCK_KIND_MAX CKPT_LOCK_LEASE

/* A lock the program held, taken again at restart before anything is torn
 * down (another process holding a conflicting one refuses the restart). */
struct ckpt_lock {
	int32_t fd;                  /* an fd on the open file that holds (or set) it */
	uint32_t kind;               /* enum ckpt_lock_kind */
	uint32_t type;               /* F_RDLCK (0) or F_WRLCK (1) */
	uint32_t pad;
	uint64_t start, len;         /* bytes; len 0: to the end of the file, ever */
};

#endif
