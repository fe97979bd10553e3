/**
 * The image format's descriptor constants, mirrored from c/ckpt_format_fds.h
 * (the descriptor half of the contract; see format.ts, which re-exports
 * everything here): fd kinds, socket states and flags, lock kinds.
 */
export const CKPT_FD_FILE = 1;
export const CKPT_FD_PIPE_READ = 2;
export const CKPT_FD_PIPE_WRITE = 3;
export const CKPT_FD_INHERIT = 4;
export const CKPT_FD_TTY = 5;
export const CKPT_FD_PROC = 6;
export const CKPT_FD_DELETED = 7;
export const CKPT_FD_MEMFD = 8;
export const CKPT_FD_FIFO = 9;
export const CKPT_FD_EVENTFD = 10;
export const CKPT_FD_SIGNALFD = 11;
export const CKPT_FD_TIMERFD = 12;
export const CKPT_FD_EPOLL = 13;
export const CKPT_FD_UNIX_SOCKET = 14;
export const CKPT_FD_INET_SOCKET = 15;
export const CKPT_FD_INOTIFY = 16;
export const CKPT_FD_KIND_MAX = CKPT_FD_INOTIFY;
export const CKPT_INOTIFY_MAX_WD = 1 << 22;
export const CKPT_SOCK_UNBOUND = 1;
export const CKPT_SOCK_BOUND = 2;
export const CKPT_SOCK_LISTEN = 3;
export const CKPT_SOCK_PAIR = 4;
export const CKPT_SOCK_PEER_CLOSED = 5;
export const CKPT_SOCK_CONNECTED = 6;
export const CKPT_SOCK_STATE_MAX = CKPT_SOCK_CONNECTED;
// A FILE record's kind_flags (version 12): its bytes kept, made again if its path is gone.
export const CKPT_FILE_KEPT = 1;
// sock_flags
export const CKPT_SOCK_PASSCRED = 1, CKPT_SOCK_REUSEADDR = 2, CKPT_SOCK_REUSEPORT = 4;
export const CKPT_SOCK_V6ONLY = 8, CKPT_SOCK_NODELAY = 16, CKPT_SOCK_KEEPALIVE = 32;
// Unix, version 15: a socket file was at a connection's name at checkpoint (c/kinds/fd_unix_named.c).
export const CKPT_SOCK_NAME_FILE = 64;

export const CKPT_LOCK_POSIX = 1;
export const CKPT_LOCK_OFD = 2;
export const CKPT_LOCK_FLOCK = 3;
export const CKPT_LOCK_LEASE = 4;
export const CKPT_LOCK_KIND_MAX = CKPT_LOCK_LEASE;

/** Every constant above, by its C name, for the mirror test (format.ts's C_CONSTANTS takes them). */
// Whom an O_ASYNC descriptor's signal goes to (version 14, c/kinds/fd_async.c).
export const CKPT_ASYNC_NONE = 0, CKPT_ASYNC_NOBODY = 1, CKPT_ASYNC_SELF = 2, CKPT_ASYNC_GROUP = 3, CKPT_ASYNC_ROOT = 4;
export const CKPT_ASYNC_OWNER_MAX = CKPT_ASYNC_ROOT;

export const FD_C_CONSTANTS: Readonly<Record<string, number>> = {
	CKPT_ASYNC_NONE, CKPT_ASYNC_NOBODY, CKPT_ASYNC_SELF, CKPT_ASYNC_GROUP, CKPT_ASYNC_ROOT, CKPT_ASYNC_OWNER_MAX,
	CKPT_FD_FILE, CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE, CKPT_FD_INHERIT, CKPT_FD_TTY, CKPT_FD_PROC, CKPT_FD_DELETED, CKPT_FD_MEMFD, CKPT_FD_FIFO, CKPT_FD_EVENTFD, CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_EPOLL, CKPT_FD_UNIX_SOCKET, CKPT_FD_INET_SOCKET, CKPT_FD_INOTIFY, CKPT_FD_KIND_MAX, CKPT_INOTIFY_MAX_WD, CKPT_SOCK_UNBOUND, CKPT_SOCK_BOUND, CKPT_SOCK_LISTEN, CKPT_SOCK_PAIR, CKPT_SOCK_PEER_CLOSED, CKPT_SOCK_CONNECTED, CKPT_SOCK_STATE_MAX, CKPT_FILE_KEPT, CKPT_SOCK_PASSCRED, CKPT_SOCK_REUSEADDR, CKPT_SOCK_REUSEPORT, CKPT_SOCK_V6ONLY, CKPT_SOCK_NODELAY, CKPT_SOCK_KEEPALIVE, CKPT_SOCK_NAME_FILE, CKPT_LOCK_POSIX, CKPT_LOCK_OFD, CKPT_LOCK_FLOCK, CKPT_LOCK_LEASE, CKPT_LOCK_KIND_MAX,
};
