/* The inotify kind's record checks (c/kinds/fd_inotify.c, the part
 * compiled into both sides) against libc: an inotify record keeps nothing
 * in the image and its last wd is bounded; the watch table is refused
 * unless it is sorted by fd then wd, each watch on an inotify of its own
 * within the wds it handed out, with an absolute path and a mask the
 * kernel could hold. The restore stub calls exactly these. Prints "N
 * passed, M failed". */
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include "../../c/kinds/fd_kinds.h"
#include "problem_check.h"

static const char *const invalid = "inotify watch record is invalid (corrupt image)";

/* fds 3 (inotify, last wd 5), 4 (a pipe), 5 (a dup of 3), 6 (inotify, last
 * wd 1); strings "\0/tmp/a\0rel\0"; the watches `w` in their table. */
static const char *watches_problem(const struct ckpt_inotify_watch *w, uint32_t n)
{
	static char t[4096];
	struct ckpt_fd f[4] = {{.fd = 3, .kind = CKPT_FD_INOTIFY, .count = 5}, {.fd = 4, .kind = CKPT_FD_PIPE_READ},
			       {.fd = 5, .kind = CKPT_FD_INOTIFY, .shares_with = 4, .count = 5},
			       {.fd = 6, .kind = CKPT_FD_INOTIFY, .count = 1}};
	struct ckpt_header h = {.nfds = 4, .fds_off = 0, .strings_off = 1024, .strings_size = 12, .ninotify = n,
				.inotify_off = 2048};
	memcpy(t, f, sizeof f);
	memcpy(t + 1024, "\0/tmp/a\0rel\0", 12);
	memcpy(t + 2048, w, n * sizeof *w);
	return fd_inotify_watches_problem(&h, t);
}

int main(void)
{
	struct ckpt_fd e = {.fd = 3, .kind = CKPT_FD_INOTIFY, .count = CKPT_INOTIFY_MAX_WD};
	check(fd_inotify_record_problem(&e), 0, "a plain inotify record");
	e.count++;
	check(fd_inotify_record_problem(&e), FD_RECORD_INVALID, "a last wd past the bound");
	e.count = 1, e.kind_flags = 1;
	check(fd_inotify_record_problem(&e), FD_RECORD_INVALID, "stray flags");
	e.kind_flags = 0, e.content_len = 1;
	check(fd_inotify_record_problem(&e), FD_CONTENTS_OUTSIDE, "stored contents");

	const struct ckpt_inotify_watch ok[3] = {
		{.fd = 3, .wd = 1, .mask = IN_CREATE | IN_ONESHOT, .add_flags = IN_ONLYDIR, .path_str = 1},
		{.fd = 3, .wd = 5, .mask = IN_MODIFY | IN_EXCL_UNLINK, .add_flags = IN_DONT_FOLLOW, .path_str = 1},
		{.fd = 6, .wd = 1, .mask = IN_ALL_EVENTS, .path_str = 1}};
	check(watches_problem(ok, 3), 0, "two instances, a gap in the wds");
	check(watches_problem(ok, 0), 0, "no watches");
	struct ckpt_inotify_watch w[3];
	memcpy(w, ok, sizeof w), w[0] = ok[1], w[1] = ok[0];
	check(watches_problem(w, 2), invalid, "out of wd order");
	w[0] = ok[2], w[1] = ok[0];
	check(watches_problem(w, 2), invalid, "out of fd order");
	check(watches_problem((const struct ckpt_inotify_watch[]){ok[0], ok[0]}, 2), invalid, "the same wd twice");
	memcpy(w, ok, sizeof w), w[0].fd = 4;
	check(watches_problem(w, 1), invalid, "on a pipe, not an inotify");
	memcpy(w, ok, sizeof w), w[0].fd = 5;
	check(watches_problem(w, 1), invalid, "on a dup of an inotify");
	memcpy(w, ok, sizeof w), w[0].fd = 7;
	check(watches_problem(w, 1), invalid, "on no fd of the table");
	memcpy(w, ok, sizeof w), w[2].wd = 2;
	check(watches_problem(w, 3), invalid, "a wd past the instance's last");
	memcpy(w, ok, sizeof w), w[0].wd = 0;
	check(watches_problem(w, 1), invalid, "wd 0");
	memcpy(w, ok, sizeof w), w[0].mask = IN_ONESHOT;
	check(watches_problem(w, 1), invalid, "no event in the mask");
	memcpy(w, ok, sizeof w), w[0].mask |= IN_MASK_ADD;
	check(watches_problem(w, 1), invalid, "a mask bit the kernel does not keep");
	memcpy(w, ok, sizeof w), w[0].add_flags = IN_MASK_CREATE;
	check(watches_problem(w, 1), invalid, "an add flag not kept");
	memcpy(w, ok, sizeof w), w[0].path_str = 8;
	check(watches_problem(w, 1), invalid, "a relative path");
	memcpy(w, ok, sizeof w), w[0].path_str = 12;
	check(watches_problem(w, 1), invalid, "a path outside the strings");
	memcpy(w, ok, sizeof w), w[0].pad = 1;
	check(watches_problem(w, 1), invalid, "padding set");
	return problem_report();
}
