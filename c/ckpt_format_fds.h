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
	/* 14, 15: sockets */
	CKPT_FD_INOTIFY = 16,   /* inotify: created again, its watches (the inotify
				 * table) added by path under their wd numbers */
};
#define CKPT_FD_KIND_MAX CKPT_FD_INOTIFY

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
	uint32_t pad;
	/* version 3: the event-loop kinds (c/kinds/fd_{eventfd,signalfd,timerfd}.c); else 0 */
	uint64_t count;              /* EVENTFD: the counter; TIMERFD: expirations not yet read;
				      * INOTIFY: the last wd it handed out (the next is one more) */
	uint64_t sigmask;            /* SIGNALFD: the signals it takes (bit n-1: signal n) */
	int32_t clock;               /* TIMERFD: its clockid */
	uint32_t kind_flags;         /* EVENTFD: EFD_SEMAPHORE; TIMERFD: TFD_TIMER_ABSTIME */
	int64_t interval_sec, interval_nsec;   /* TIMERFD: it_interval */
	int64_t remaining_sec, remaining_nsec; /* TIMERFD: time to the next expiry (of an
						* absolute CLOCK_REALTIME one: its time); both 0: disarmed */
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
