#define _GNU_SOURCE
/*
 * CKPT_FD_INET_SOCKET: a TCP or UDP socket, IPv4 or IPv6, created again
 * in the state a server needs: a TCP listener on the same address and
 * port with its backlog (so it keeps accepting), a TCP socket bound and
 * not listening, a UDP socket bound again and, if it was connected,
 * connected again (once every socket is back), an unbound one. The
 * options that change what the program or its peers see are set again
 * before the bind (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, TCP_NODELAY,
 * SO_KEEPALIVE, the buffer sizes and timeouts) or refuse the socket.
 * The restart binds in phase 1, so an address another process took
 * meanwhile refuses it before anything is torn down, naming the address.
 *
 * A TCP connection cannot be kept without CAP_NET_ADMIN (TCP_REPAIR), so
 * it comes back closed by its peer (PEER_CLOSED), whether the peer was in
 * the process or not: the stub connects a socket of its family to a
 * loopback listener of its own, writes the bytes the program had not read
 * yet (peeked at checkpoint) from the accepted end and closes that end, so
 * the program reads them, then EOF; a write then meets the closed peer
 * (EPIPE or ECONNRESET), and the program decides, as after a peer's crash.
 * Its addresses are the loopback ones after that (getsockname/getpeername);
 * `ckpt info` names the original two. Bytes it had sent the peer had not
 * yet taken are lost with the connection. A connection still being made
 * is dropped or refused (drop_or_fail); a listener with connections
 * waiting to be accepted, and a UDP socket with datagrams waiting, are
 * refused (checkpoint once they are served). An address is kept as text (ckpt_format_fds.h): "a.b.c.d:port",
 * "[h:h:h:h:h:h:h:h]:port"; an IPv6 scope id is refused.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../lib/tree.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

#define INET_FLAGS (CKPT_SOCK_REUSEADDR | CKPT_SOCK_REUSEPORT | CKPT_SOCK_V6ONLY | CKPT_SOCK_NODELAY | CKPT_SOCK_KEEPALIVE)

const char *fd_inet_socket_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	int tcp = f->sock_type == SOCK_STREAM;
	if ((f->sock_family != AF_INET && f->sock_family != AF_INET6) || (!tcp && f->sock_type != SOCK_DGRAM) ||
	    f->sock_state < CKPT_SOCK_UNBOUND || f->sock_state > CKPT_SOCK_STATE_MAX ||
	    f->sock_state == CKPT_SOCK_PAIR || (f->sock_state == CKPT_SOCK_PEER_CLOSED && (!tcp || !f->peer_str)) ||
	    (f->sock_state == CKPT_SOCK_LISTEN && !tcp) || (f->sock_state == CKPT_SOCK_CONNECTED && (tcp || !f->peer_str)) ||
	    (f->sock_state != CKPT_SOCK_UNBOUND && !f->path_str) || (f->sock_flags & ~INET_FLAGS) || f->shutdown > 3 ||
	    (f->shutdown && f->sock_state != CKPT_SOCK_PEER_CLOSED) || (f->pipe_len && f->sock_state != CKPT_SOCK_PEER_CLOSED) ||
	    f->peer_str >= h->strings_size || f->rcvtimeo_usec < 0 || f->sndtimeo_usec < 0 || f->peek_off < -1)
		return FD_RECORD_INVALID;
	return f->content_len ? FD_CONTENTS_OUTSIDE : fd_pipe_bytes_problem(f, h);
}

#ifdef CKPT_LIB
static void hex_group(struct line *l, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	char t[5];
	int n = 0;
	do
		t[n++] = digits[v % 16];
	while (v /= 16);
	while (n)
		line_str(l, (char[]){t[--n], 0});
}

/* "a.b.c.d:port" or "[h:h:h:h:h:h:h:h]:port"; -1 for an IPv6 scope id
 * (a link-local address bound to an interface by number). */
static int inet_text(const struct sockaddr_in6 *a, struct line *l)
{
	const uint8_t *b;
	uint16_t port = a->sin6_port;
	if (a->sin6_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
		for (int i = 0; i < 4; i++)
			line_u64(l, b[i]), line_str(l, i < 3 ? "." : ":");
	} else {
		if (a->sin6_scope_id)
			return -1;
		b = a->sin6_addr.s6_addr;
		line_str(l, "[");
		for (int i = 0; i < 16; i += 2)
			hex_group(l, (unsigned)(b[i] << 8 | b[i + 1])), line_str(l, i < 14 ? ":" : "]:");
	}
	line_u64(l, (uint64_t)(uint16_t)(port >> 8 | port << 8));
	return 0;
}

static int int_option(int fd, int level, int name)
{
	int32_t v = 0;
	uint32_t len = sizeof v;
	return sys_getsockopt(fd, level, name, &v, &len) == 0 ? v : 0;
}

/* Beyond the SOL_SOCKET options every socket kind keeps (socket_options.c). */
static const char *inet_options(int fd, struct ckpt_fd *r)
{
	uint32_t len = 0;
	r->sock_flags &= ~(uint32_t)CKPT_SOCK_PASSCRED; /* no meaning here */
	r->sock_flags |= int_option(fd, SOL_SOCKET, SO_REUSEPORT) ? CKPT_SOCK_REUSEPORT : 0;
	r->sock_flags |= int_option(fd, SOL_SOCKET, SO_KEEPALIVE) ? CKPT_SOCK_KEEPALIVE : 0;
	if (r->sock_family == AF_INET6)
		r->sock_flags |= int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY) ? CKPT_SOCK_V6ONLY : 0;
	if (r->sock_type == SOCK_STREAM)
		r->sock_flags |= int_option(fd, IPPROTO_TCP, TCP_NODELAY) ? CKPT_SOCK_NODELAY : 0;
	if (r->peek_off >= 0)
		return "uses SO_PEEK_OFF, which ckpt does not set again on TCP or UDP sockets";
	if (sys_getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, 0, &len) == 0 && len > 1)
		return "is bound to a network device (SO_BINDTODEVICE), which ckpt does not set again";
	if (int_option(fd, r->sock_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       r->sock_family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND) ||
	    int_option(fd, r->sock_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       r->sock_family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT))
		return "uses IP_FREEBIND or IP_TRANSPARENT, which ckpt does not set again";
	if (r->sock_type == SOCK_STREAM && (int_option(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT) || int_option(fd, IPPROTO_TCP, TCP_FASTOPEN)))
		return "uses TCP_DEFER_ACCEPT or TCP_FASTOPEN, which ckpt does not set again";
	return 0;
}

static int inet_refuse(struct capture *c, const struct ckpt_fd *r, const char *address, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, r->sock_type == SOCK_STREAM ? " (a TCP socket" : " (a UDP socket");
	line_str(&c->error, address[0] ? " at " : "");
	line_str(&c->error, address);
	line_str(&c->error, ") ");
	line_str(&c->error, why);
	return -1;
}

/* TCP: listening, bound or not; a connection is not kept yet. */
static int tcp_state(struct capture *c, int fd, struct ckpt_fd *r, const char *target, const char *address)
{
	struct tcp_info ti = {0};
	uint32_t len = sizeof ti;
	if (sys_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return drop_or_fail(c, fd, target, "a TCP socket whose state cannot be read (TCP_INFO)");
	if (ti.tcpi_state == TCP_LISTEN) {
		/* for a listener, tcp_get_info reports the accept queue and backlog */
		if (ti.tcpi_unacked)
			return inet_refuse(c, r, address, "has connections not yet accepted; checkpoint when none is waiting");
		r->sock_state = CKPT_SOCK_LISTEN, r->backlog = ti.tcpi_sacked;
		return 1;
	}
	if (ti.tcpi_state == TCP_CLOSE) {
		r->sock_state = address[0] ? CKPT_SOCK_BOUND : CKPT_SOCK_UNBOUND;
		return 1;
	}
	struct sockaddr_in6 peer = {0};
	struct line text = {.len = 0};
	len = sizeof peer;
	if (ti.tcpi_state == TCP_SYN_SENT || ti.tcpi_state == TCP_SYN_RECV || sys_getpeername(fd, &peer, &len) < 0 ||
	    inet_text(&peer, &text) < 0)
		return drop_or_fail(c, fd, target, "a TCP socket still connecting, which ckpt does not restore");
	int holder = tree_tcp_peer(c, fd);
	if (holder) {
		struct proc_facts f = {.pid = holder};
		proc_facts(c, holder, &f);
		struct line why = {.len = 0};
		line_str(&why, "is connected to a socket of ");
		name_process(&why, holder, f.comm);
		line_str(&why, ", and connections between the processes of a tree are not restored yet");
		return inet_refuse(c, r, address, why.buf);
	}
	/* a connection: closed by its peer at restart, its unread bytes kept */
	r->sock_state = CKPT_SOCK_PEER_CLOSED;
	r->peer_str = capture_string(c, text.buf, text.len);
	int sent_fin = ti.tcpi_state == TCP_FIN_WAIT1 || ti.tcpi_state == TCP_FIN_WAIT2 || ti.tcpi_state == TCP_CLOSING ||
		       ti.tcpi_state == TCP_LAST_ACK;
	r->shutdown = sent_fin ? 2 /* SEND_SHUTDOWN */ : 0;
	return capture_socket_queue(c, r) < 0 ? -1 : 1;
}

int fd_inet_socket_capture(struct capture *c, int fd, struct ckpt_fd *r, const char *target)
{
	struct sockaddr_in6 a = {0};
	struct line address = {.len = 0};
	uint32_t len = sizeof a;
	r->sock_family = (uint32_t)int_option(fd, SOL_SOCKET, SO_DOMAIN);
	r->sock_type = (uint32_t)int_option(fd, SOL_SOCKET, SO_TYPE);
	int proto = int_option(fd, SOL_SOCKET, SO_PROTOCOL);
	if (!((r->sock_type == SOCK_STREAM && proto == IPPROTO_TCP) || (r->sock_type == SOCK_DGRAM && proto == IPPROTO_UDP)))
		return drop_or_fail(c, fd, target, "an IPv4/IPv6 socket of a protocol ckpt does not restore (only TCP and UDP)");
	if (sys_getsockname(fd, &a, &len) < 0 || inet_text(&a, &address) < 0)
		return inet_refuse(c, r, "", "is bound to an IPv6 address with a scope id, which ckpt does not keep");
	if (!a.sin6_port)
		address.len = 0, address.buf[0] = 0; /* never bound: the kernel would pick a port */
	r->path_str = capture_string(c, address.buf, address.len);
	const char *why = socket_options(fd, r);
	if (!why)
		why = inet_options(fd, r);
	if (why)
		return inet_refuse(c, r, address.buf, why);
	if (r->sock_type == SOCK_STREAM)
		return tcp_state(c, fd, r, target, address.buf);
	struct line peer = {.len = 0};
	len = sizeof a;
	if (sys_getpeername(fd, &a, &len) == 0 && inet_text(&a, &peer) == 0)
		r->sock_state = CKPT_SOCK_CONNECTED, r->peer_str = capture_string(c, peer.buf, peer.len);
	else
		r->sock_state = address.len ? CKPT_SOCK_BOUND : CKPT_SOCK_UNBOUND;
	char probe;
	if (sys_recvfrom(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
		return inet_refuse(c, r, address.buf, "holds unread datagrams, which ckpt does not restore; checkpoint once they are read");
	return 1;
}
#endif

#ifdef CKPT_STUB
static int digits(const char **s, unsigned base, unsigned max, unsigned *v)
{
	unsigned n = 0, k = 0;
	for (;; (*s)++, k++) {
		char ch = **s;
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 99;
		if (d >= base)
			break;
		n = n * base + d;
		if (n > max)
			return -1;
	}
	*v = n;
	return k ? 0 : -1;
}

/* The text capture wrote back into a sockaddr; 0 if it is not that text. */
static uint32_t inet_address(const char *s, uint32_t family, struct sockaddr_in6 *a)
{
	unsigned v;
	*a = (struct sockaddr_in6){.sin6_family = (uint16_t)family};
	uint8_t *b = family == AF_INET ? (uint8_t *)&((struct sockaddr_in *)a)->sin_addr : a->sin6_addr.s6_addr;
	int parts = family == AF_INET ? 4 : 8;
	if (family == AF_INET6 && *s++ != '[')
		return 0;
	for (int i = 0; i < parts; i++) {
		if (digits(&s, family == AF_INET ? 10 : 16, family == AF_INET ? 255 : 0xffff, &v) < 0)
			return 0;
		if (family == AF_INET)
			b[i] = (uint8_t)v;
		else
			b[2 * i] = (uint8_t)(v >> 8), b[2 * i + 1] = (uint8_t)v;
		char sep = i < parts - 1 ? (family == AF_INET ? '.' : ':') : (family == AF_INET ? ':' : ']');
		if (*s++ != sep)
			return 0;
	}
	if (family == AF_INET6 && *s++ != ':')
		return 0;
	if (digits(&s, 10, 65535, &v) < 0 || *s)
		return 0;
	a->sin6_port = (uint16_t)(v >> 8 | v << 8);
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* A TCP connection closed by its peer: connected to a loopback listener
 * of the stub's, its unread bytes written from the accepted end, which is
 * then closed (FIN): reads give the bytes, then EOF. */
static void closed_connection(const struct ckpt_fd *f, int s, int image_fd, const char *name)
{
	struct sockaddr_in6 a = {.sin6_family = (uint16_t)f->sock_family};
	if (f->sock_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr.s_addr = 0x0100007f; /* 127.0.0.1 */
	else
		a.sin6_addr.s6_addr[15] = 1; /* ::1 */
	uint32_t len = f->sock_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof a;
	long lis = sys_socket((int)f->sock_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long err = lis < 0 ? lis : sys_bind((int)lis, &a, len);
	if (!err)
		err = sys_listen((int)lis, 1);
	if (!err)
		err = sys_getsockname((int)lis, &a, &len);
	if (!err)
		err = sys_connect(s, &a, len); /* the socket still blocks: loopback completes at once */
	/* non-blocking: bytes that no longer fit refuse the restart, never hang it */
	long peer = err ? err : sys_accept4((int)lis, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (lis >= 0)
		sys_close((int)lis);
	if (peer < 0)
		die_socket("cannot make a closed connection on the loopback to stand for it", f, name, peer);
	if (f->pipe_len)
		refill_from_image(image_fd, f->pipe_data_offset, f->pipe_len, f->pipe_crc, (int)peer, 0, "TCP connection");
	sys_close((int)peer);
	if (f->shutdown & 2)
		sys_shutdown(s, 1 /* SHUT_WR */);
}

void fd_inet_socket_restore(const struct ckpt_fd *f, const char *name, int image_fd)
{
	int s = fd_inet_socket_make(f, name, image_fd);
	place(s, f);
	set_status_flags(f);
	sys_close(s);
}

int fd_inet_socket_make(const struct ckpt_fd *f, const char *name, int image_fd)
{
	int tcp = f->sock_type == SOCK_STREAM;
	int blocking = f->sock_state == CKPT_SOCK_PEER_CLOSED ? 0 : SOCK_NONBLOCK; /* status flags come once placed */
	long fd = sys_socket((int)f->sock_family, (int)f->sock_type | SOCK_CLOEXEC | blocking, 0);
	int s = to_high(fd, tcp ? "cannot create a TCP socket" : "cannot create a UDP socket", 0);
	set_socket_options(s, f);
	if (f->sock_flags & CKPT_SOCK_REUSEPORT)
		set_socket_option(s, f, SOL_SOCKET, SO_REUSEPORT, 1, "cannot set SO_REUSEPORT again");
	if (f->sock_flags & CKPT_SOCK_KEEPALIVE)
		set_socket_option(s, f, SOL_SOCKET, SO_KEEPALIVE, 1, "cannot set SO_KEEPALIVE again");
	if (f->sock_family == AF_INET6) /* the system's default (bindv6only) may differ: always set */
		set_socket_option(s, f, IPPROTO_IPV6, IPV6_V6ONLY, (f->sock_flags & CKPT_SOCK_V6ONLY) != 0, "cannot set IPV6_V6ONLY again");
	if (tcp && (f->sock_flags & CKPT_SOCK_NODELAY))
		set_socket_option(s, f, IPPROTO_TCP, TCP_NODELAY, 1, "cannot set TCP_NODELAY again");
	if (f->sock_state == CKPT_SOCK_PEER_CLOSED)
		closed_connection(f, s, image_fd, name);
	else if (f->sock_state != CKPT_SOCK_UNBOUND) {
		struct sockaddr_in6 a;
		uint32_t len = inet_address(name, f->sock_family, &a);
		if (!len)
			die_socket("its address is not one ckpt wrote (corrupt image)", f, name, 0);
		long err = sys_bind(s, &a, len);
		if (err == -98 /* EADDRINUSE */)
			die_socket("that address is in use by another process", f, name, 0);
		if (err < 0)
			die_socket("cannot bind it there again", f, name, err);
	}
	long err = f->sock_state == CKPT_SOCK_LISTEN ? sys_listen(s, (int)f->backlog) : 0;
	if (err < 0)
		die_socket("cannot listen there again", f, name, err);
	return s;
}

/* Once every socket is back: UDP sockets connected to an address, again. */
void fd_inet_socket_connect(const struct ckpt_fd *fds, uint32_t n, const char *strings)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_fd *f = &fds[i];
		if (f->kind != CKPT_FD_INET_SOCKET || f->shares_with || f->share_pid || f->sock_state != CKPT_SOCK_CONNECTED)
			continue; /* a description another process had first: its first holder connects it */
		const char *peer = string_at(strings, f->peer_str);
		struct sockaddr_in6 a;
		uint32_t len = inet_address(peer, f->sock_family, &a);
		long err = len ? sys_connect(f->fd, &a, len) : -22 /* EINVAL */;
		if (err < 0)
			die_socket("cannot connect it again to its peer", f, peer, err);
	}
}
#endif
