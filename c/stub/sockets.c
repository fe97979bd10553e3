#define _GNU_SOURCE
/*
 * What restoring any socket kind shares (c/kinds/fd_unix_socket.c,
 * fd_inet_socket.c): the refusal naming the socket, and the SOL_SOCKET
 * options set again before its bytes go back or it is bound.
 */
#include <sys/socket.h>
#include "stub.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

__attribute__((noreturn)) void die_socket(const char *what, const struct ckpt_fd *f, const char *name, long err)
{
	struct line why = {.len = 0};
	line_str(&why, "fd ");
	line_u64(&why, (uint64_t)f->fd);
	line_str(&why, f->kind == CKPT_FD_UNIX_SOCKET ? " (a Unix socket" : f->sock_type == SOCK_STREAM ? " (a TCP socket" : " (a UDP socket");
	line_str(&why, name[0] ? " at " : "");
	line_str(&why, name);
	line_str(&why, "): ");
	line_str(&why, what);
	if (err) {
		line_str(&why, ": ");
		line_str(&why, errno_text(err));
	}
	die_line(&why);
}

void set_socket_option(int s, const struct ckpt_fd *f, int level, int name, int32_t v, const char *what)
{
	long err = sys_setsockopt(s, level, name, &v, sizeof v);
	if (err < 0)
		die_socket(what, f, "", err);
}

/* Before the unread bytes go back: the buffer sizes bound what fits. */
void set_socket_options(int s, const struct ckpt_fd *f)
{
	int32_t now;
	uint32_t len = sizeof now;
	/* the kernel doubles what it is given, and getsockopt shows the double */
	if (sys_getsockopt(s, SOL_SOCKET, SO_RCVBUF, &now, &len) == 0 && (uint32_t)now != f->rcvbuf)
		set_socket_option(s, f, SOL_SOCKET, SO_RCVBUF, (int32_t)(f->rcvbuf / 2), "cannot set SO_RCVBUF again");
	len = sizeof now;
	if (sys_getsockopt(s, SOL_SOCKET, SO_SNDBUF, &now, &len) == 0 && (uint32_t)now != f->sndbuf)
		set_socket_option(s, f, SOL_SOCKET, SO_SNDBUF, (int32_t)(f->sndbuf / 2), "cannot set SO_SNDBUF again");
	if (f->sock_flags & CKPT_SOCK_PASSCRED)
		set_socket_option(s, f, SOL_SOCKET, SO_PASSCRED, 1, "cannot set SO_PASSCRED again");
	if (f->sock_flags & CKPT_SOCK_REUSEADDR)
		set_socket_option(s, f, SOL_SOCKET, SO_REUSEADDR, 1, "cannot set SO_REUSEADDR again");
	struct { int64_t sec, usec; } tv[2] = {{f->rcvtimeo_usec / 1000000, f->rcvtimeo_usec % 1000000},
					       {f->sndtimeo_usec / 1000000, f->sndtimeo_usec % 1000000}};
	if ((f->rcvtimeo_usec && sys_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv[0], sizeof tv[0]) < 0) ||
	    (f->sndtimeo_usec && sys_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv[1], sizeof tv[1]) < 0))
		die_socket("cannot set its timeouts again", f, "", 0);
	len = sizeof now;
	if (sys_getsockopt(s, SOL_SOCKET, SO_RCVBUF, &now, &len) < 0 || (uint32_t)now != f->rcvbuf ||
	    (len = sizeof now, sys_getsockopt(s, SOL_SOCKET, SO_SNDBUF, &now, &len)) < 0 || (uint32_t)now != f->sndbuf)
		die_socket("cannot give it its buffer sizes again (SO_RCVBUF/SO_SNDBUF above this system's limits)", f, "", 0);
}

