#define _GNU_SOURCE
#ifdef CKPT_STUB
/*
 * CKPT_FD_UNIX_SOCKET, a pair with a name: a connection accepted from a
 * listener bound at an address, both ends kept (in one process, or in two
 * of a tree: Python's multiprocessing.Manager serves its clients so). The
 * accepted end's getsockname() is the listener's address and the
 * client's getpeername() says it too, which no socketpair can give. So
 * the pair is made as it was first made: a client connects to a listener
 * bound at that address and the listener accepts it. The listener is the
 * restored one when this process has made it already; else one bound
 * there for the moment and closed at once. Its socket file stays where
 * the checkpoint saw one (CKPT_SOCK_NAME_FILE): the program's own
 * listener, if it has one, binds there afresh when its turn comes
 * (fd_unix_socket_make), as over any socket file nothing listens on.
 *
 * An end with a name whose peer is gone or outside the process (a
 * server's connection from a client elsewhere, or a client bound before
 * it connected to a server elsewhere) is made the same way, its client
 * closed once the unread bytes are back: it reads them, then EOF, as an
 * unnamed one does (fd_unix_socket.c), keeping its own name.
 *
 * Only one end of a pair may have a name: the client's is unnamed. Two named ends
 * (a client bound before it connected) are refused at checkpoint
 * (c/lib/socket_queue.c). The accepted end's socket file is then not its
 * listener's any more, which only matters to a socket bound again by
 * that file: the checkpoint compares it for bound and listening ones alone.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "fd_kinds.h"
#include "../stub/stub.h"
#include "../sys.h"

/* The listener bound at `name` for the moment: its fd, and the inode of
 * the socket file it made (0 for an abstract name). */
static int listen_for_the_moment(const struct ckpt_fd *f, const char *name, const struct sockaddr_un *a, uint32_t len,
				 uint64_t *ino)
{
	struct stat st;
	int l = to_high(sys_socket(AF_UNIX, (int)f->sock_type | SOCK_CLOEXEC, 0), "cannot create a Unix socket", 0);
	/* check_world found only a socket file nothing listens on here */
	if (name[0] == '/' && sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
		sys_unlinkat(AT_FDCWD, name, 0);
	long err = sys_bind(l, a, len);
	if (err == 0)
		err = sys_listen(l, 1);
	if (err < 0)
		die_socket("cannot listen there for the moment to connect its pair again", f, name, err);
	*ino = name[0] == '/' && sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
	return l;
}

void fd_unix_named_pair(const struct ckpt_fd *a, const char *a_name, const struct ckpt_fd *b, const char *b_name,
			int listener, int sv[2])
{
	int a_named = a_name[0] != 0;
	const struct ckpt_fd *named = a_named ? a : b;
	const char *name = a_named ? a_name : b_name;
	if ((a_name[0] && b_name[0]) || named->sock_type == SOCK_DGRAM)
		die_socket("both ends of the pair have a name, or a datagram pair has one (corrupt image)", named, name, 0);
	struct sockaddr_un addr;
	uint32_t len = fd_unix_address(name, &addr);
	if (!len)
		die_socket("its name is too long for a Unix address (corrupt image)", named, name, 0);
	uint64_t ino = 0;
	int l = listener >= 0 ? listener : listen_for_the_moment(named, name, &addr, len, &ino);
	int client = to_high(sys_socket(AF_UNIX, (int)named->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
			     "cannot create a Unix socket", 0);
	long err = sys_connect(client, &addr, len);
	if (err < 0)
		die_socket("cannot connect its pair again through that address", named, name, err);
	int accepted = to_high(sys_accept4(l, SOCK_CLOEXEC | SOCK_NONBLOCK), "cannot accept its pair again", name);
	if (listener < 0) {
		struct stat st;
		sys_close(l);
		if (ino && !(named->sock_flags & CKPT_SOCK_NAME_FILE) &&
		    sys_fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == ino)
			sys_unlinkat(AT_FDCWD, name, 0);
	}
	sv[a_named ? 0 : 1] = accepted;
	sv[a_named ? 1 : 0] = client;
}
#endif
