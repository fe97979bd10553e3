/*
 * After `ckpt restart --lazy` (docs/lazy-restart.md) the program's private
 * anonymous memory comes in from a page server, on first touch and in the
 * background. Until it has all come, two things must wait:
 *   - a checkpoint: its image must be complete on its own, and a page not
 *     loaded yet reads as absent to the capture's page scan;
 *   - a fork (fork_hold.c): the child's copy of a region registered with
 *     the server's userfaultfd is unregistered (EVENT_FORK, which would
 *     hand the server the child's too, needs CAP_SYS_PTRACE), so a page
 *     not loaded yet would read as zeros there.
 * How we learn it has all come: the server closes its userfaultfd once
 * every extent is loaded, and the kernel then unregisters every region,
 * so no entry of /proc/self/smaps has the VmFlag "um" (missing-mode
 * userfaultfd) any more. No descriptor or mapping of ours is involved, so
 * the program sees nothing. We look every LAZY_POLL_MS, at most
 * LAZY_WAIT_MS in all (loading runs at disk speed, 0.4 s a GiB from
 * cache here): then the caller refuses instead.
 * Raw syscalls and a stack buffer only: this runs in the signal handler.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "lazy.h"
#include "../sys.h"

#define LAZY_POLL_MS 5
#define LAZY_WAIT_MS 120000

static int lazy_pending; /* set by a lazy restart, cleared once loading is seen ended */

void lazy_after_restart(int lazy)
{
	__atomic_store_n(&lazy_pending, lazy, __ATOMIC_RELEASE);
}

/* 1 while a VmFlags line of smaps holds " um ", 0 when none does, -errno. */
static long still_loading(void)
{
	static const char prefix[] = "VmFlags:";
	long fd = sys_openat(AT_FDCWD, "/proc/self/smaps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char buf[1024];
	uint32_t col = 0, window = 0;
	int in_flags = 0, prefix_ok = 1;
	long n, found = 0;
	while (!found && (n = sys_read((int)fd, buf, sizeof buf)) > 0)
		for (long i = 0; i < n && !found; i++) {
			char ch = buf[i];
			if (ch == '\n') {
				col = 0, in_flags = 0, prefix_ok = 1, window = 0;
				continue;
			}
			if (col < sizeof prefix - 1) {
				prefix_ok &= ch == prefix[col];
				in_flags = prefix_ok && col == sizeof prefix - 2;
			}
			col++;
			window = window << 8 | (uint8_t)ch;
			found = in_flags && window == (' ' << 24 | 'u' << 16 | 'm' << 8 | ' ');
		}
	sys_close((int)fd);
	return n < 0 ? n : found;
}

int lazy_wait(void)
{
	if (!__atomic_load_n(&lazy_pending, __ATOMIC_ACQUIRE))
		return 0;
	for (int waited = 0; waited <= LAZY_WAIT_MS; waited += LAZY_POLL_MS) {
		long loading = still_loading();
		if (loading < 0)
			return -1;
		if (!loading) {
			lazy_after_restart(0);
			return 0;
		}
		struct { long sec, nsec; } tick = {0, LAZY_POLL_MS * 1000000L};
		SYS2(__NR_nanosleep, &tick, 0);
	}
	return -1;
}
