#define _GNU_SOURCE
/*
 * CKPT_FD_UNIX_SOCKET: an AF_UNIX socket (stream, datagram or seqpacket),
 * created again in the state it was in (enum ckpt_sock_state):
 * - unbound, bound (path or abstract "@name"), or listening with its
 *   backlog: a new socket bound at the same address. A path still holding
 *   the old socket file is re-bound when nothing listens there any more
 *   (a connect() is refused), and refuses the restart, before teardown,
 *   when another process listens there or a non-socket took it;
 * - a pair connected to each other, both ends held by the process and
 *   unnamed (socketpair(), or what asyncio's self-pipe is): a new
 *   socketpair, each end's unread bytes written back through the other,
 *   message boundaries kept, then each end's shutdown bits;
 * - one end of a pair whose other end another process of the tree holds
 *   (docs/process-trees.md): the root of the restart makes the pair
 *   (fd_unix_socket_fill_pair), and fds.c places each holder's record
 *   from the parked end, as a shared pipe's;
 * - connected, its peer closed or in another process (which a restart
 *   cannot keep; resolve_unix_sockets decides): a socketpair whose other
 *   end is closed once the unread bytes are back, so reads give them,
 *   then EOF;
 * - a datagram socket connected to an address (syslog's /dev/log):
 *   connected to that address again once every socket is back.
 * The peer comes from NETLINK_SOCK_DIAG (c/lib/sock_diag.c): the kernel's
 * own pointer, by inode, so the pairing is exact. The unread bytes are
 * peeked (c/lib/socket_queue.c) without being consumed.
 * - a pair with a name, one end accepted from a listener at an address,
 *   the other the unnamed client that connected (fd_unix_named.c), in
 *   one process or two of the tree: made again through that address.
 * Refused by name: a named stream connected to a socket outside the
 * process, a connection not yet accepted or a listener with some waiting,
 * a connection between two named ends, file descriptors or credentials
 * in flight, out-of-band data, a relative path, a path removed or
 * replaced since the bind, options ckpt does not set again (the list is
 * in ARCHITECTURE.md, "Unix sockets").
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#include "../crc32c.h"
#endif
#include "../sys.h"

const char *fd_unix_socket_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	int dgram = f->sock_type == SOCK_DGRAM || f->sock_type == SOCK_SEQPACKET;
	int queue = f->sock_state == CKPT_SOCK_PAIR || f->sock_state == CKPT_SOCK_PEER_CLOSED;
	if ((!dgram && f->sock_type != SOCK_STREAM) || f->sock_state < CKPT_SOCK_UNBOUND ||
	    f->sock_state > CKPT_SOCK_STATE_MAX || f->shutdown > 3 || (f->sock_flags & ~(3u | CKPT_SOCK_NAME_FILE)) || f->sock_family != 1 /* AF_UNIX */ ||
	    f->peer_str >= h->strings_size ||
	    (f->sock_state == CKPT_SOCK_CONNECTED && (!dgram || !f->peer_str)) ||
	    (f->sock_state == CKPT_SOCK_LISTEN && f->sock_type == SOCK_DGRAM) || (f->pipe_len && !queue) ||
	    f->rcvtimeo_usec < 0 || f->sndtimeo_usec < 0 || f->peek_off < -1)
		return FD_RECORD_INVALID;
	return f->content_len ? FD_CONTENTS_OUTSIDE : fd_pipe_bytes_problem(f, h);
}

#ifdef CKPT_LIB
/* The address as a string: "" unnamed, "@name" abstract, else the path;
 * -1 when a string cannot say it (an abstract name with a NUL inside). */
static int address_text(const struct sockaddr_un *a, uint32_t len, char *out)
{
	uint32_t n = len > 2 ? len - 2 : 0;
	if (n && a->sun_path[0] == 0) {
		out[0] = '@';
		for (uint32_t i = 1; i < n; i++)
			if (!(out[i] = a->sun_path[i]))
				return -1;
		out[n] = 0;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		out[i] = a->sun_path[i];
	out[n] = 0; /* a path's own NUL, if getsockname counted it, ends it earlier */
	return 0;
}

static int refuse(struct capture *c, const struct ckpt_fd *r, const char *what, const char *name, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, " (a Unix socket");
	line_str(&c->error, name && name[0] ? " " : "");
	line_str(&c->error, name && name[0] ? what : "");
	line_str(&c->error, name && name[0] ? name : "");
	line_str(&c->error, ") ");
	line_str(&c->error, why);
	return -1;
}

/* Whether the path still leads to the socket file bind() created. */
static int path_is_its_own(const char *path, const struct unix_facts *u)
{
	struct stat st;
	if (sys_fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	/* unix_diag gives the kernel's dev_t (major << 20 | minor); stat, glibc's */
	uint32_t major = (uint32_t)(((st.st_dev >> 8) & 0xfff) | ((st.st_dev >> 32) & ~0xfffull));
	uint32_t minor = (uint32_t)((st.st_dev & 0xff) | ((st.st_dev >> 12) & ~0xffull));
	return st.st_ino == u->vfs_ino && major == u->vfs_dev >> 20 && minor == (u->vfs_dev & 0xfffff);
}

static int classify_state(struct capture *c, int fd, struct ckpt_fd *r, const struct unix_facts *u, const char *name)
{
	struct sockaddr_un peer;
	uint32_t len = sizeof peer;
	/* A datagram socket's state says little (connecting one marks its peer
	 * established too): whether it has a peer is what getpeername says. */
	int dgram = r->sock_type == SOCK_DGRAM;
	int connected = dgram ? sys_getpeername(fd, &peer, &len) == 0 : u->state == 1 /* TCP_ESTABLISHED */;
	if (u->state == 10 /* TCP_LISTEN */) {
		if (u->rqueue)
			return refuse(c, r, "listening at ", name, "has connections not yet accepted; checkpoint when none is waiting");
		r->sock_state = CKPT_SOCK_LISTEN, r->backlog = u->wqueue;
	} else if (connected && u->peer_ino) {
		r->sock_state = CKPT_SOCK_CONNECTED, r->peer_id = u->peer_ino; /* paired in resolve_unix_sockets */
	} else if (connected && dgram && name[0]) {
		return refuse(c, r, "bound to ", name, "is a datagram socket whose connected peer is gone, which a restart "
						      "could not make again with its name");
	} else if (connected && (dgram || u->shutdown == 3)) {
		r->sock_state = CKPT_SOCK_PEER_CLOSED; /* a closed peer has no inode left; a stream's name is kept (fd_unix_named.c) */
	} else if (connected) {
		return refuse(c, r, "at ", name, "is connected to a listener that has not accepted it yet; checkpoint once it has");
	} else if (dgram || u->state == 7 /* TCP_CLOSE */) {
		r->sock_state = name[0] ? CKPT_SOCK_BOUND : CKPT_SOCK_UNBOUND;
	} else {
		return refuse(c, r, "at ", name, "is in the middle of connecting");
	}
	r->shutdown = u->shutdown;
	return 1;
}

int fd_unix_socket_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const struct stat *st)
{
	struct unix_facts u;
	struct sockaddr_un a;
	char name[sizeof a.sun_path + 2];
	uint32_t len = sizeof a;
	r->sock_id = st->st_ino, r->sock_family = AF_UNIX;
	if (unix_diag(c, st->st_ino, &u) < 0)
		return drop_or_fail(c, fd, target, "the kernel does not describe it (NETLINK_SOCK_DIAG)");
	r->sock_type = u.type;
	if (u.type != SOCK_STREAM && u.type != SOCK_DGRAM && u.type != SOCK_SEQPACKET)
		return drop_or_fail(c, fd, target, "a Unix socket of a type ckpt does not know");
	if (sys_getsockname(fd, &a, &len) < 0 || address_text(&a, len, name) < 0)
		return refuse(c, r, "", "", "has an abstract name with a NUL byte inside, which ckpt cannot keep");
	if (name[0] && name[0] != '@' && name[0] != '/')
		return refuse(c, r, "bound to ", name, "is bound to a relative path, which ckpt does not bind again yet");
	/* Only a socket bound again by its file needs the file its own: a
	 * connection's name (an accepted one's is its listener's) is made
	 * through a listener bound there (fd_unix_named.c). */
	int connection = u.type != SOCK_DGRAM && u.state == 1 /* TCP_ESTABLISHED */;
	if (u.has_vfs && !connection && !path_is_its_own(name, &u))
		return refuse(c, r, "bound to ", name, "no longer has that path (the socket file was removed or replaced), "
						      "so a restart could not bind it there as it is");
	r->path_str = capture_string(c, name, str_len(name));
	struct stat file;
	if (connection && name[0] == '/' && sys_fstatat(AT_FDCWD, name, &file, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(file.st_mode))
		r->sock_flags |= CKPT_SOCK_NAME_FILE;
	const char *why = socket_options(fd, r);
	if (why)
		return refuse(c, r, "at ", name, why);
	if (classify_state(c, fd, r, &u, name) < 0)
		return -1;
	if (r->sock_state == CKPT_SOCK_CONNECTED) {
		len = sizeof a;
		if (sys_getpeername(fd, &a, &len) < 0 || address_text(&a, len, name) < 0)
			name[0] = 0;
		r->peer_str = capture_string(c, name, str_len(name));
	}
	return 1;
}
#endif


#ifdef CKPT_STUB
/* Phase 1, before anything is restored: the address a socket is bound to
 * again must be free. A path may hold the old socket file, which nothing
 * listens on any more (connect() is refused): restore_socket replaces it. */
void fd_unix_socket_check_world(const struct ckpt_fd *f, const char *name)
{
	struct sockaddr_un a;
	struct stat st;
	if (!name[0])
		return; /* a connection's end with a name is bound there for a moment (fd_unix_named.c) */
	uint32_t len = fd_unix_address(name, &a);
	long probe = sys_socket(AF_UNIX, (int)f->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!len || probe < 0)
		die_socket("cannot make a socket to test its address", f, name, probe < 0 ? probe : 0);
	long err = -111; /* ECONNREFUSED: free, unless a test below says otherwise */
	if (name[0] == '@')
		err = sys_bind((int)probe, &a, len); /* freed again by the close */
	else if (sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(st.st_mode))
		err = -17; /* EEXIST */
	else if (sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		err = sys_connect((int)probe, &a, len);
	sys_close((int)probe);
	if (name[0] == '@' && err == -98 /* EADDRINUSE */)
		die_socket("that name is in use by another process", f, name, 0);
	if (name[0] != '@' && err == -17)
		die_socket("that path is taken by a file that is not a socket", f, name, 0);
	/* connected, or the backlog full (EAGAIN), or connecting: someone listens */
	if (name[0] != '@' && (err == 0 || err == -11 || err == -115))
		die_socket("that path is in use by another process", f, name, 0);
}

/* The bytes `f` had waiting, sent again by `from`, its peer: checked
 * against their checksum first, each datagram as one message. */
static void refill(int image_fd, const struct ckpt_fd *f, int from)
{
	if (!f->pipe_len)
		return;
	long m = sys_mmap(0, f->pipe_len, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
	if (m < 0)
		die_socket("no memory to read its unread bytes", f, "", m);
	char *b = (char *)m;
	if (sys_pread(image_fd, b, f->pipe_len, (long)f->pipe_data_offset) != (long)f->pipe_len)
		die_socket("cannot read its unread bytes from the image", f, "", 0);
	if (crc32c_update(0, b, f->pipe_len) != f->pipe_crc)
		die_socket("checksum mismatch in its stored unread bytes", f, "", 0);
	int dgram = f->sock_type != SOCK_STREAM;
	for (uint64_t at = 0; at < f->pipe_len;) {
		uint64_t len = f->pipe_len - at;
		if (dgram) {
			len = 0;
			for (int i = 0; i < 4 && at + (uint64_t)i < f->pipe_len; i++)
				len |= (uint64_t)(unsigned char)b[at + (uint64_t)i] << (8 * i);
			if ((at += 4) + len > f->pipe_len)
				die_socket("its stored messages are corrupt", f, "", 0);
		}
		long n = sys_sendto(from, b + at, len, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
		if (n < 0 || (dgram && (uint64_t)n != len))
			die_socket("cannot queue its unread bytes again", f, "", n < 0 ? n : 0);
		at += (uint64_t)n;
	}
	sys_munmap(b, f->pipe_len);
}

static void peek_from(int s, const struct ckpt_fd *f)
{
	if (f->peek_off >= 0)
		set_socket_option(s, f, SOL_SOCKET, SO_PEEK_OFF, f->peek_off, "cannot set SO_PEEK_OFF again");
}

static void finish(int s, const struct ckpt_fd *f)
{
	peek_from(s, f);
	place(s, f);
	set_status_flags(f);
	sys_close(s);
}

static void shut(int s, const struct ckpt_fd *f)
{
	/* sk_shutdown bits: 1 reads (SHUT_RD 0), 2 writes (SHUT_WR 1), 3 both (SHUT_RDWR 2) */
	long err = f->shutdown ? sys_shutdown(s, (int)f->shutdown - 1) : 0;
	if (err < 0)
		die_socket("cannot shut it down again", f, "", err);
}

static uint32_t peer_index(const struct ckpt_fd *fds, uint32_t n, const struct ckpt_fd *f)
{
	uint32_t j = 0;
	while (j < n && !(fds[j].kind == CKPT_FD_UNIX_SOCKET && !fds[j].shares_with && fds[j].sock_id == f->peer_id))
		j++;
	return j;
}

void fd_unix_socket_fill_closed(int s, int client, const struct ckpt_fd *f, int image_fd)
{
	set_socket_options(s, f);
	refill(image_fd, f, client);
	sys_close(client); /* the peer that was gone */
	shut(s, f);
	peek_from(s, f);
}

void fd_unix_socket_fill_pair(const int sv[2], const struct ckpt_fd *a, int image_a, const struct ckpt_fd *b, int image_b)
{
	set_socket_options(sv[0], a);
	set_socket_options(sv[1], b);
	refill(image_b, b, sv[0]);
	refill(image_a, a, sv[1]);
	shut(sv[0], a);
	shut(sv[1], b);
	/* each holder's record is then placed from the parked end (fds.c) */
	peek_from(sv[0], a);
	peek_from(sv[1], b);
}

/* The index of a listener record at `name` in this table, other than i, or -1. */
static int listener_index(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *name, const char *strings)
{
	for (uint32_t k = 0; name[0] && k < n; k++)
		if (k != i && fds[k].kind == CKPT_FD_UNIX_SOCKET && fds[k].sock_state == CKPT_SOCK_LISTEN &&
		    str_eq(string_at(strings, fds[k].path_str), name))
			return (int)k;
	return -1;
}

int fd_unix_listener_of(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *strings)
{
	const struct ckpt_fd *f = &fds[i];
	if (f->sock_state != CKPT_SOCK_PAIR && f->sock_state != CKPT_SOCK_PEER_CLOSED)
		return -1;
	uint32_t j = f->sock_state == CKPT_SOCK_PAIR ? peer_index(fds, n, f) : n;
	const char *name = string_at(strings, f->path_str);
	return listener_index(fds, n, i, name[0] || j >= n ? name : string_at(strings, fds[j].path_str), strings);
}

void fd_unix_socket_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t i, const char *strings, int image_fd, int listener)
{
	const struct ckpt_fd *f = &fds[i];
	int type = (int)f->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK; /* each fd gets its own flags once placed */
	if (f->sock_state == CKPT_SOCK_PAIR || f->sock_state == CKPT_SOCK_PEER_CLOSED) {
		uint32_t j = f->sock_state == CKPT_SOCK_PAIR ? peer_index(fds, n, f) : n;
		if (j < i)
			return; /* restored with its peer */
		int sv[2];
		const char *name = string_at(strings, f->path_str), *peer_name = j < n ? string_at(strings, fds[j].path_str) : "";
		if (j < n && (name[0] || peer_name[0])) {
			fd_unix_named_pair(f, name, &fds[j], peer_name, listener, sv);
		} else if (name[0] && f->sock_type != SOCK_DGRAM) { /* its peer gone: a client, closed once its bytes are back */
			fd_unix_named_pair(f, name, f, "", listener, sv);
		} else {
			long err = sys_socketpair(AF_UNIX, type, 0, sv);
			if (err < 0)
				die_socket("cannot create a socket pair", f, "", err);
			sv[0] = to_high(sv[0], "cannot create a socket pair", 0), sv[1] = to_high(sv[1], "cannot create a socket pair", 0);
		}
		set_socket_options(sv[0], f);
		if (j < n)
			set_socket_options(sv[1], &fds[j]), refill(image_fd, &fds[j], sv[0]);
		refill(image_fd, f, sv[1]);
		if (j < n)
			shut(sv[1], &fds[j]), finish(sv[1], &fds[j]);
		else
			sys_close(sv[1]); /* the peer that was gone */
		shut(sv[0], f);
		finish(sv[0], f);
		return;
	}
	int s = fd_unix_socket_make(f, string_at(strings, f->path_str));
	place(s, f);
	set_status_flags(f);
	sys_close(s);
}

int fd_unix_socket_make(const struct ckpt_fd *f, const char *name)
{
	int type = (int)f->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK; /* each fd gets its own flags once placed */
	int s = to_high(sys_socket(AF_UNIX, type, 0), "cannot create a Unix socket", 0);
	set_socket_options(s, f);
	if (name[0]) {
		struct sockaddr_un a;
		uint32_t len = fd_unix_address(name, &a);
		struct stat st;
		/* check_world found only a socket file nothing listens on here */
		if (name[0] == '/' && sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
			sys_unlinkat(AT_FDCWD, name, 0);
		long err = len ? sys_bind(s, &a, len) : -36 /* ENAMETOOLONG */;
		if (err < 0)
			die_socket("cannot bind it there again", f, name, err);
	}
	long err = f->sock_state == CKPT_SOCK_LISTEN ? sys_listen(s, (int)f->backlog) : 0;
	if (err < 0)
		die_socket("cannot listen there again", f, name, err);
	shut(s, f);
	peek_from(s, f);
	return s;
}

/* Once every socket is back (one may be the very address): datagram
 * sockets connected to an address are connected to it again. */
void fd_unix_socket_connect(const struct ckpt_fd *fds, uint32_t n, const char *strings)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_fd *f = &fds[i];
		if (f->kind != CKPT_FD_UNIX_SOCKET || f->shares_with || f->share_pid || f->sock_state != CKPT_SOCK_CONNECTED)
			continue; /* a description another process had first: its first holder connects it */
		const char *peer = string_at(strings, f->peer_str);
		struct sockaddr_un a;
		uint32_t len = fd_unix_address(peer, &a);
		long err = len ? sys_connect(f->fd, &a, len) : -36;
		if (err < 0)
			die_socket("cannot connect it again to its peer", f, peer, err);
	}
}
#endif
