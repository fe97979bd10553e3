/*
 * The two descriptors dirty tracking keeps open in the program while it
 * runs: its userfaultfd, and /proc/self/pagemap, through which the early
 * helper (early_protect.c) scans and protects again while the program runs.
 *
 * Both are taken during a capture, every thread stopped, and moved high
 * (near the soft RLIMIT_NOFILE), close-on-exec, before any thread runs
 * again: programs count up from 3, and a descriptor of ours that took the
 * lowest free number while the program runs, even for a moment, would give
 * the program's next open() another number than it gets without ckpt. The
 * helper once opened pagemap for each scan, and a program opening files
 * then got 4 where it always gets 3 (test/e2e/fds.test.ts, fd-numbers).
 *
 * A program may close either (close_range, closefrom), and the number may
 * then be its own: each is checked before use (the userfaultfd by its
 * link, pagemap by the device and inode it had), a lost one ends tracking
 * (the next image is full), and the survivor, still ours, is closed.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "tracking_fds.h"
#include "../sys.h"

static struct {
	int uffd, pagemap;               /* -1: none */
	uint64_t pagemap_dev, pagemap_ino;
} fds = {-1, -1, 0, 0};

int tracking_uffd(void) { return fds.uffd; }
int tracking_pagemap(void) { return fds.pagemap; }
const void *tracking_fds_statics(void) { return &fds; }

int is_tracking_fd(int fd)
{
	return fd >= 0 && (fd == fds.uffd || fd == fds.pagemap);
}

void tracking_fds_forget(void)
{
	fds.uffd = fds.pagemap = -1;
}

/* `fd` moved to the lowest free number from near the soft limit up; the
 * low one closed. -1 where the limit leaves no room. */
static int move_high(long fd)
{
	struct { uint64_t cur, max; } nofile;
	long high = -1;
	if (fd >= 0 && SYS4(__NR_prlimit64, 0, 7 /* RLIMIT_NOFILE */, 0, &nofile) == 0 && nofile.cur > 256 &&
	    nofile.cur < (1u << 20))
		high = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, (long)nofile.cur - 64);
	if (fd >= 0)
		sys_close((int)fd);
	return high < 0 ? -1 : (int)high;
}

int tracking_fds_take(int uffd, const char **why)
{
	fds.uffd = move_high(uffd);
	fds.pagemap = move_high(sys_openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0));
	struct stat st;
	if (fds.uffd >= 0 && fds.pagemap >= 0 && sys_fstat(fds.pagemap, &st) == 0) {
		fds.pagemap_dev = st.st_dev, fds.pagemap_ino = st.st_ino;
		return 0;
	}
	if (fds.uffd >= 0)
		sys_close(fds.uffd);
	if (fds.pagemap >= 0)
		sys_close(fds.pagemap);
	tracking_fds_forget();
	*why = "no free descriptor high enough for the userfaultfd and pagemap";
	return -1;
}

static int uffd_ours(void)
{
	if (fds.uffd < 0)
		return 0;
	struct line path = self_fd_path(fds.uffd);
	char target[64];
	long n = sys_readlinkat(AT_FDCWD, path.buf, target, sizeof target - 1);
	if (n < 0)
		return 0;
	target[n] = 0;
	return str_eq(target, "anon_inode:[userfaultfd]");
}

static int pagemap_ours(void)
{
	struct stat st;
	return fds.pagemap >= 0 && sys_fstat(fds.pagemap, &st) == 0 && st.st_dev == fds.pagemap_dev &&
	       st.st_ino == fds.pagemap_ino;
}

void tracking_fds_drop(void)
{
	if (uffd_ours())
		sys_close(fds.uffd);
	if (pagemap_ours())
		sys_close(fds.pagemap);
	tracking_fds_forget();
}

int tracking_fds_still_ours(void)
{
	if (uffd_ours() && pagemap_ours())
		return 1;
	tracking_fds_drop();
	return 0;
}
