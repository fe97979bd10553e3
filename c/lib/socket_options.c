/*
 * The SOL_SOCKET options of a socket (CKPT_FD_UNIX_SOCKET, and
 * CKPT_FD_INET_SOCKET, which adds its own) that change what the program sees: those the restart sets again are recorded (buffer sizes,
 * SO_PASSCRED, SO_REUSEADDR, timeouts, SO_PEEK_OFF; O_NONBLOCK and
 * close-on-exec travel with every fd), those it does not refuse the
 * socket. ARCHITECTURE.md, "Unix sockets", has the list.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include "ckpt_lib.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

static int int_option(int fd, int name, int32_t *v)
{
	uint32_t len = sizeof *v;
	*v = 0;
	return (int)sys_getsockopt(fd, SOL_SOCKET, name, v, &len);
}

static int64_t timeout_option(int fd, int name)
{
	struct { int64_t sec, usec; } tv = {0, 0};
	uint32_t len = sizeof tv;
	sys_getsockopt(fd, SOL_SOCKET, name, &tv, &len);
	return tv.sec * 1000000 + tv.usec;
}

/* The options that change what the program sees are set again, or the
 * socket is refused: ARCHITECTURE.md lists them. */
const char *socket_options(int fd, struct ckpt_fd *r)
{
	int32_t v;
	int_option(fd, SO_RCVBUF, &v), r->rcvbuf = (uint32_t)v;
	int_option(fd, SO_SNDBUF, &v), r->sndbuf = (uint32_t)v;
	int_option(fd, SO_PEEK_OFF, &v), r->peek_off = v < 0 ? -1 : v;
	r->sock_flags |= int_option(fd, SO_PASSCRED, &v) == 0 && v ? CKPT_SOCK_PASSCRED : 0;
	r->sock_flags |= int_option(fd, SO_REUSEADDR, &v) == 0 && v ? CKPT_SOCK_REUSEADDR : 0;
	r->rcvtimeo_usec = timeout_option(fd, SO_RCVTIMEO);
	r->sndtimeo_usec = timeout_option(fd, SO_SNDTIMEO);
	if (int_option(fd, SO_PASSSEC, &v) == 0 && v)
		return "takes security labels (SO_PASSSEC), which ckpt does not set again";
	if (int_option(fd, 76 /* SO_PASSPIDFD */, &v) == 0 && v)
		return "takes pidfds of its senders (SO_PASSPIDFD), which ckpt does not set again";
	if (int_option(fd, SO_RCVLOWAT, &v) == 0 && v != 1)
		return "has SO_RCVLOWAT set, which ckpt does not set again";
	/* asked with no room, SO_GET_FILTER answers the filter's length */
	uint32_t filter_len = 0;
	if (sys_getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, 0, &filter_len) == 0 && filter_len)
		return "has a socket filter attached (SO_ATTACH_FILTER), which ckpt cannot read back";
	return 0;
}

