#define _GNU_SOURCE
/*
 * Descriptors, restored in phase 1 so a missing file is a clean error:
 * each record by its kind's module (c/kinds/fd_*.c), an fd that shared an
 * open file with a lower one (`2>&1`, dup) as that same open file.
 */
#include <fcntl.h>
#include "stub.h"
#include "../kinds/fd_kinds.h"

void restore_fds(const struct ckpt_fd *fds, uint32_t n, const char *strings, int image_fd, int32_t tree_root_pid)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct ckpt_fd *f = &fds[i];
		if (f->shares_with) {
			place(f->shares_with - 1, f); /* one open file, as `2>&1` made it */
			continue;
		}
		int parked = tree_parked_fd(f); /* one description or pipe with other processes of a tree */
		if (parked >= 0) {
			place(parked, f);
			if (f->kind != CKPT_FD_FILE) /* a file's flags came with its open; an inherited fd's are the restart's */
				set_some_status_flags(f, f->kind == CKPT_FD_INHERIT ? O_NONBLOCK : O_NONBLOCK | O_APPEND);
			continue;
		}
		switch (f->kind) {
		case CKPT_FD_FILE:
		case CKPT_FD_PROC: /* reopened by path as a file is */
			fd_file_restore(f, string_at(strings, f->path_str), image_fd);
			break;
		case CKPT_FD_TTY:
			fd_tty_restore(f, string_at(strings, f->path_str));
			break;
		case CKPT_FD_DELETED:
		case CKPT_FD_MEMFD:
			/* another open of a file made once: opened again on its holder's fd
			 * here (placed already: a lower one), or on the tree's parked one */
			fd_unlinked_restore(f, string_at(strings, f->path_str), image_fd,
					    f->share_pid ? tree_parked_file(f) : (int)f->reopens - 1);
			break;
		case CKPT_FD_FIFO:
			fd_fifo_restore(fds, n, i, strings, image_fd);
			break;
		case CKPT_FD_INHERIT:
			fd_inherit_restore(f);
			break;
		case CKPT_FD_EPOLL: /* its watches once every fd is back (main.c) */
			fd_epoll_restore(f);
			break;
		case CKPT_FD_INOTIFY: /* likewise */
			fd_inotify_restore(f);
			break;
		case CKPT_FD_PIPE_READ:
		case CKPT_FD_PIPE_WRITE:
			fd_pipe_restore(fds, n, i, image_fd);
			break;
		case CKPT_FD_EVENTFD:
			fd_eventfd_restore(f);
			break;
		case CKPT_FD_SIGNALFD:
			fd_signalfd_restore(f);
			break;
		case CKPT_FD_TIMERFD:
			fd_timerfd_restore(f); /* armed in phase 2 (process.c) */
			break;
		case CKPT_FD_UNIX_SOCKET: {
			/* a listener for a named pair: placed already, or made by a tree's root */
			int k = fd_unix_listener_of(fds, n, i, strings);
			int listener = k < 0 ? -1 : (uint32_t)k < i ? fds[k].fd : tree_parked_fd(&fds[k]);
			fd_unix_socket_restore(fds, n, i, strings, image_fd, listener);
			break;
		}
		case CKPT_FD_INET_SOCKET: /* bound here, in phase 1: a taken address refuses cleanly */
			fd_inet_socket_restore(f, string_at(strings, f->path_str), image_fd);
			break;
		}
	}
	fd_unix_socket_connect(fds, n, strings);
	fd_inet_socket_connect(fds, n, strings);
	fd_async_restore(fds, n, tree_root_pid);
}
