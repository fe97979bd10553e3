/* The epoll kind's record checks (c/kinds/fd_epoll.c, the part compiled
 * into both sides) against libc: an epoll record keeps nothing in the
 * image, and the watch table is refused unless it is sorted, names an
 * epoll of its own for each watch and an fd of the table for each watched
 * descriptor. The restore stub calls exactly these. Prints "N passed, M
 * failed". */
#include <stdio.h>
#include <string.h>
#include "../../c/kinds/fd_kinds.h"
#include "problem_check.h"

static const char *const invalid = "epoll watch record is invalid (corrupt image)";

/* fds 3 (epoll), 4 (a pipe), 5 (a second epoll), 6 (a dup of 3); the
 * watches `w` in their table. */
static const char *watches_problem(const struct ckpt_epoll_watch *w, uint32_t n)
{
	static char t[4096];
	struct ckpt_fd f[4] = {{.fd = 3, .kind = CKPT_FD_EPOLL}, {.fd = 4, .kind = CKPT_FD_PIPE_READ},
			       {.fd = 5, .kind = CKPT_FD_EPOLL}, {.fd = 6, .kind = CKPT_FD_EPOLL, .shares_with = 4}};
	struct ckpt_header h = {.nfds = 4, .fds_off = 0, .nwatches = n, .watches_off = 2048};
	memcpy(t, f, sizeof f);
	memcpy(t + 2048, w, n * sizeof *w);
	return fd_epoll_watches_problem(&h, t);
}

int main(void)
{
	struct ckpt_fd e = {.fd = 3, .kind = CKPT_FD_EPOLL};
	check(fd_epoll_record_problem(&e), 0, "a plain epoll record");
	e.content_len = 1;
	check(fd_epoll_record_problem(&e), FD_CONTENTS_OUTSIDE, "stored contents");
	e.content_len = 0, e.pipe_len = 1;
	check(fd_epoll_record_problem(&e), FD_PIPE_BYTES_OUTSIDE, "pipe bytes");

	const struct ckpt_epoll_watch ok[3] = {{.epfd = 3, .fd = 4, .events = 1u << 31 | 1, .data = ~0ull},
					       {.epfd = 3, .fd = 5, .events = 1}, {.epfd = 5, .fd = 4, .events = 1u << 30}};
	check(watches_problem(ok, 3), 0, "level, edge, a nested epoll, a fired oneshot");
	check(watches_problem(ok, 0), 0, "no watches");
	struct ckpt_epoll_watch w[3];
	memcpy(w, ok, sizeof w);
	w[0] = ok[1], w[1] = ok[0];
	check(watches_problem(w, 3), invalid, "out of fd order");
	w[0] = ok[2], w[1] = ok[0], w[2] = ok[1];
	check(watches_problem(w, 3), invalid, "out of epoll order");
	check(watches_problem((const struct ckpt_epoll_watch[]){ok[0], ok[0]}, 2), invalid, "the same fd twice");
	memcpy(w, ok, sizeof w), w[0].epfd = 4;
	check(watches_problem(w, 1), invalid, "on a pipe, not an epoll");
	memcpy(w, ok, sizeof w), w[0].epfd = 6;
	check(watches_problem(w, 1), invalid, "on a dup of an epoll");
	memcpy(w, ok, sizeof w), w[0].epfd = 7;
	check(watches_problem(w, 1), invalid, "on no fd of the table");
	memcpy(w, ok, sizeof w), w[0].fd = 9;
	check(watches_problem(w, 1), invalid, "watching no fd of the table");
	memcpy(w, ok, sizeof w), w[0].fd = 3;
	check(watches_problem(w, 1), invalid, "an epoll watching itself");
	memcpy(w, ok, sizeof w), w[0].pad = 1;
	check(watches_problem(w, 1), invalid, "padding set");
	memcpy(w, ok, sizeof w), w[0].fd = 6;
	check(watches_problem(w, 1), 0, "watching a dup (the fd is in the table)");
	return problem_report();
}
