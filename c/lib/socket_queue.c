/*
 * Unix sockets seen together (CKPT_FD_UNIX_SOCKET, c/kinds/fd_unix_socket.c),
 * once every descriptor is classified: which connected ones are pairs the
 * process holds both ends of, and the bytes waiting in each.
 *
 * The bytes are peeked, never consumed: with SO_PEEK_OFF each MSG_PEEK
 * starts where the last one ended, so the whole queue is read one message
 * (datagram, seqpacket) or one run of bytes (stream) at a time, boundaries
 * kept; the program's own peek offset is put back after. A datagram is
 * stored behind its 4-byte length. Refused: file descriptors (SCM_RIGHTS;
 * peeking them installs copies here, which are closed again at once) or
 * credentials in flight, a datagram from a named sender (a restart sends
 * it from an unnamed one) unless it is the lost peer of a connection to
 * another process, out-of-band data. One case cannot be seen: a
 * zero-length datagram the program already peeked is skipped by the
 * kernel's peek offset (__skb_try_recv_from_queue), and so lost.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

static int queue_refusal(struct capture *c, const struct ckpt_fd *r, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, r->kind == CKPT_FD_UNIX_SOCKET ? " (a Unix socket) " : " (a TCP socket) ");
	line_str(&c->error, why);
	return -1;
}

/* Control messages a peek brought: any refuses the socket, and says why;
 * fds it installed here are closed first. */
static const char *control_problem(const char *control, uint64_t len, int truncated)
{
	const char *found = truncated ? "has file descriptors (SCM_RIGHTS) in flight" : 0;
	for (uint64_t at = 0; at + sizeof(struct cmsghdr) <= len;) {
		const struct cmsghdr *h = (const void *)(control + at);
		if (h->cmsg_len < sizeof *h || at + h->cmsg_len > len)
			break;
		int rights = h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS;
		for (uint64_t k = sizeof *h; rights && k + sizeof(int) <= h->cmsg_len; k += sizeof(int))
			sys_close(*(const int *)(control + at + k));
		found = rights ? "has file descriptors (SCM_RIGHTS) in flight"
		       : h->cmsg_type == SCM_CREDENTIALS ? "takes its senders' credentials (SO_PASSCRED) and has messages in flight that carry them"
							 : "has messages in flight that carry control data";
		at += (h->cmsg_len + sizeof(long) - 1) & ~(sizeof(long) - 1);
	}
	return found;
}

/* One message (or run of stream bytes) peeked at the peek offset into the
 * stored bytes: its length, 0 at a stream's end, -EAGAIN when no more. */
static long peek_one(struct capture *c, struct ckpt_fd *r, int dgram)
{
	uint64_t room = c->pipe_data_cap - c->pipe_data_size;
	if (room <= 4)
		return capture_fail(c, "too much unread data in pipes and sockets", 0), -1000;
	struct iovec iov = {c->pipe_data + c->pipe_data_size + (dgram ? 4 : 0), room - 4};
	char control[512];
	struct sockaddr_un from;
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = control, .msg_controllen = sizeof control};
	long n = sys_recvmsg(r->fd, &m, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (dgram ? MSG_TRUNC : 0));
	if (n < 0)
		return n;
	const char *why = control_problem(control, m.msg_controllen, (m.msg_flags & MSG_CTRUNC) != 0);
	if (why) {
		queue_refusal(c, r, why);
		line_str(&c->error, ", which a restart cannot send again; checkpoint once they are read");
		return -1000;
	}
	/* A connection to another process (peer-closed with a peer address)
	 * hears only from that peer, whose name the restart's stand-in lacks
	 * anyway, as getpeername shows: documented, not refused. */
	int from_lost_peer = r->sock_state == CKPT_SOCK_PEER_CLOSED && c->strings[r->peer_str];
	if (dgram && m.msg_namelen > sizeof(sa_family_t) && !from_lost_peer)
		return queue_refusal(c, r, "holds a datagram from a named sender, whose address a restart cannot "
					   "give it again; checkpoint once it is read"), -1000;
	if ((uint64_t)n > room - 4)
		return capture_fail(c, "too much unread data in pipes and sockets", 0), -1000;
	if (dgram) {
		uint32_t len = (uint32_t)n;
		for (int i = 0; i < 4; i++)
			c->pipe_data[c->pipe_data_size + (uint64_t)i] = (char)(len >> (8 * i));
		c->pipe_data_size += 4;
	}
	c->pipe_data_size += (uint64_t)n;
	return n;
}

static int set_peek_off(int fd, int32_t v)
{
	return (int)sys_setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof v);
}

int capture_socket_queue(struct capture *c, struct ckpt_fd *r)
{
	int dgram = r->sock_type != SOCK_STREAM;
	char oob;
	if (!dgram && sys_recvfrom(r->fd, &oob, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT) >= 0)
		return queue_refusal(c, r, "holds out-of-band data (MSG_OOB), which ckpt does not restore");
	if (set_peek_off(r->fd, 0) < 0)
		return capture_fail(c, "cannot peek at a Unix socket's unread bytes (SO_PEEK_OFF)", 0);
	uint64_t start = c->pipe_data_size;
	long n;
	while ((n = peek_one(c, r, dgram)) > 0 || (n == 0 && dgram))
		;
	set_peek_off(r->fd, r->peek_off);
	if (n == -1000)
		return -1;
	if (n < 0 && n != -11 /* EAGAIN */)
		return capture_fail(c, "cannot peek at a Unix socket's unread bytes", n);
	r->pipe_len = (uint32_t)(c->pipe_data_size - start);
	r->pipe_data_offset = start; /* relative; the writer makes it absolute */
	r->size = r->pipe_len;
	/* FIONREAD (SIOCINQ) counts what a stream or seqpacket socket holds (a datagram
	 * socket's first message only): all of it must have been read. */
	int inq = 0;
	uint64_t payload = r->pipe_len;
	for (uint64_t at = start; r->sock_type == SOCK_SEQPACKET && at + 4 <= c->pipe_data_size;) {
		uint32_t len = 0;
		for (int i = 0; i < 4; i++)
			len |= (uint32_t)(unsigned char)c->pipe_data[at + (uint64_t)i] << (8 * i);
		payload -= 4, at += 4 + len;
	}
	if (r->sock_type != SOCK_DGRAM && (sys_ioctl(r->fd, FIONREAD, &inq) < 0 || (uint64_t)inq != payload))
		return queue_refusal(c, r, "holds unread bytes that could not all be peeked; checkpoint once they are read");
	return 0;
}

static struct ckpt_fd *record_of(struct capture *c, uint64_t sock_id)
{
	for (uint32_t i = 0; i < c->nfds; i++)
		if (c->fds[i].kind == CKPT_FD_UNIX_SOCKET && !c->fds[i].shares_with && c->fds[i].sock_id == sock_id)
			return &c->fds[i];
	return 0;
}

/* Whether a pair's names can be made again (fd_unix_named.c): none, or
 * one end's alone (accepted from a listener) of a stream or seqpacket
 * pair. Its own end's peer_str (the peer's name) is kept for `ckpt info`. */
static int pair_name_kept(const struct capture *c, const struct ckpt_fd *r, int peer_named)
{
	int named = c->strings[r->path_str] != 0;
	return !(named && peer_named) && (!(named || peer_named) || r->sock_type != SOCK_DGRAM);
}

/* A connected socket is a pair when its peer is here and connected back:
 * 0 kept, 1 dropped (one inherited at launch, or --drop-unsupported-fds),
 * -1 refused. */
static int pair_up(struct capture *c, struct ckpt_fd *r)
{
	struct ckpt_fd *p = record_of(c, r->peer_id);
	const char *peer = c->strings + r->peer_str;
	if (p && p->peer_id == r->sock_id && (p->sock_state == CKPT_SOCK_CONNECTED || p->sock_state == CKPT_SOCK_PAIR)) {
		if (!pair_name_kept(c, r, c->strings[p->path_str] != 0))
			return queue_refusal(c, r, "is a connection with a name at both ends (a client bound before it "
						   "connected), or a named datagram pair, which ckpt does not restore yet");
		r->sock_state = p->sock_state = CKPT_SOCK_PAIR;
		return 0;
	}
	/* A connection to another process cannot be kept without it: like TCP,
	 * it comes back closed by its peer (its unread bytes, then EOF), and
	 * peer_str keeps the peer's address for `ckpt info`. A stream or
	 * seqpacket end with a name (accepted from our listener) keeps it
	 * (fd_unix_named.c); a named datagram one is refused. Inherited ones
	 * are dropped. */
	/* Its peer in another member of the tree: a pair (socketpair before a
	 * fork), made once by the restart's root for every holder of either
	 * end (c/stub/tree_shared.c); peer_id names the other end's record in
	 * the holder's image. Names as within one process (pair_name_kept). */
	int holder = p ? 0 : tree_holds_socket(c, r->peer_id);
	if (holder && pair_name_kept(c, r, peer[0] != 0)) {
		r->sock_state = CKPT_SOCK_PAIR;
		return 0;
	}
	int dgram_to_address = r->sock_type != SOCK_STREAM && r->sock_type != SOCK_SEQPACKET && peer[0];
	if (dgram_to_address && !holder)
		return 0; /* connected to it again (by its first holder, when members share it: fd_unix_socket.c) */
	if (holder || r->share_pid) {
		struct proc_facts f = {.pid = holder ? holder : r->share_pid};
		proc_facts(c, f.pid, &f);
		struct line why = {.len = 0};
		line_str(&why, holder ? "is connected to a socket of " : "is shared with ");
		name_process(&why, f.pid, f.comm);
		line_str(&why, holder ? " with a name at both ends (a client bound before it connected), or is a named "
					"datagram pair, which ckpt does not restore yet"
				      : " and connected outside the tree, which a restart could not keep");
		return queue_refusal(c, r, why.buf);
	}
	int named = c->strings[r->path_str] != 0; /* then made through its name (fd_unix_named.c) */
	if (!p && (!named || r->sock_type != SOCK_DGRAM) && !inherited_at_launch(r->fd)) {
		r->sock_state = CKPT_SOCK_PEER_CLOSED, r->peer_id = 0;
		return 0;
	}
	struct line why = {.len = 0}, target = {.len = 0};
	line_str(&why, "a Unix socket connected to ");
	line_str(&why, peer[0] ? peer : "an unnamed socket");
	line_str(&why, p ? ", which is not connected back" : ", a socket outside the process");
	if (!p && named && !inherited_at_launch(r->fd))
		line_str(&why, ", and it is a datagram socket with a name of its own, which a restart could not give the socketpair standing in for it");
	line_str(&target, "socket:[");
	line_u64(&target, r->sock_id);
	line_str(&target, "]");
	return drop_or_fail(c, r->fd, target.buf, why.buf) < 0 ? -1 : 1;
}

/* A dup is restored as the socket it shares (shares_with) and stores
 * nothing; its record says what that socket is. */
static void describe_dups(struct capture *c)
{
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		for (uint32_t j = 0; j < i && r->kind == CKPT_FD_UNIX_SOCKET && r->shares_with; j++)
			if (c->fds[j].fd == (int32_t)r->shares_with - 1) {
				r->sock_state = c->fds[j].sock_state, r->peer_id = c->fds[j].peer_id, r->peer_str = c->fds[j].peer_str;
				r->backlog = c->fds[j].backlog;
			}
	}
}

int resolve_unix_sockets(struct capture *c)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		int k = r->kind == CKPT_FD_UNIX_SOCKET && !r->shares_with && r->sock_state == CKPT_SOCK_CONNECTED ? pair_up(c, r) : 0;
		if (k < 0)
			return -1;
		if (!k)
			c->fds[kept++] = *r;
	}
	c->nfds = kept;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		if (r->kind != CKPT_FD_UNIX_SOCKET || r->shares_with || r->sock_state == CKPT_SOCK_LISTEN)
			continue;
		if (r->sock_state == CKPT_SOCK_PAIR || r->sock_state == CKPT_SOCK_PEER_CLOSED) {
			if (capture_socket_queue(c, r))
				return -1;
			continue;
		}
		char probe;
		if (sys_recvfrom(r->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
			return queue_refusal(c, r, "holds unread messages from senders a restart cannot stand in for; "
						   "checkpoint once they are read");
	}
	describe_dups(c);
	return 0;
}
