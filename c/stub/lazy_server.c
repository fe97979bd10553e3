/*
 * The page server of `ckpt restart --lazy` (docs/lazy-restart.md): a
 * process of its own, outside the program, holding the userfaultfd of the
 * program's memory and the image files (so the image may be deleted or
 * replaced meanwhile).
 *
 * Algorithm:
 *   1. Drop everything of the program's it was forked with: its
 *      descriptors (a copy here would keep a pipe's reader from seeing
 *      the end the program closes), its memory, its working directory.
 *   2. Loop: a first touch (a fault) is answered at once: its extent is
 *      loaded whole (lazy_copy.c), then the page is zeroed if it is still
 *      empty (a hole, or released since), and its thread woken. An event
 *      (release, move) is recorded before any fault read with it is
 *      answered. With nothing to answer, the next extent still to load,
 *      in file order, is loaded in the background: the small ones at
 *      once (what a program touches first), the large ones only once the
 *      program is quiet (quiet_wait_ms): while a program starts (its
 *      first touches come every few hundred microseconds) a large extent
 *      loaded meanwhile would make each touch wait behind it, and take a
 *      core from the program on a small machine (2 cores here: 17.5 ms to
 *      the first output of a 1 GiB program, 11-13 without background
 *      loading).
 *   3. When every extent is loaded and every fault answered, close the
 *      userfaultfd (the kernel unregisters the program's regions, which
 *      is how libckpt learns loading has ended) and exit. The program's
 *      end (its pidfd) ends this at once, whatever is left.
 *
 * A server killed while loading (SIGKILL by its pid, the OOM killer) must
 * not leave the program reading zeros where image bytes belong: the
 * kernel unregisters the regions when the last holder of the userfaultfd
 * closes it, and missing pages are then filled with zeros. So the server
 * runs as the child of a small watcher (CKPT_PAGE_WATCH_NAME) that keeps a
 * copy of the userfaultfd: a fault then waits, unanswered, until the
 * watcher has seen the server's end and killed the program. The server's
 * wait status tells it which end it was.
 */
#include <fcntl.h>
#include <linux/errno.h>
#include <linux/prctl.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

#define USER_TOP 0x7ffffffff000ull
#define FAULTS_MAX 4096 /* read but not yet answered: one a thread at most, in practice */
#define POLLIN 1

static int uffd;
static uint64_t faults[FAULTS_MAX];
static uint32_t nfaults;

static void keep_only(int *keep, int n)
{
	for (int i = 1; i < n; i++) /* a handful: insertion sort */
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1], keep[j - 1] = t;
		}
	unsigned from = 0;
	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			sys_close_range(from, (unsigned)keep[i] - 1);
		from = (unsigned)keep[i] + 1;
	}
	sys_close_range(from, ~0u);
}

static void leave_the_program(int program)
{
	sys_prctl(PR_SET_NAME, (unsigned long)CKPT_PAGE_SERVER_NAME, 0, 0, 0);
	int keep[4 + CKPT_LINKS_MAX] = {uffd, program, restart.image_fd, restart.err_fd};
	int n = 4;
	for (uint32_t i = 0; i < restart.hdr->nlinks; i++)
		keep[n++] = restart.link_fd[i];
	keep_only(keep, n);
	sys_chdir("/");
	uint64_t arena_end = restart.arena_start + restart.arena_len;
	sys_munmap((void *)CKPT_PAGE_SIZE, restart.arena_start - CKPT_PAGE_SIZE);
	sys_munmap((void *)arena_end, USER_TOP - arena_end);
}

/* A program reading its memory in order (a fault in an extent right
 * after a loaded one) is read ahead of, ungated, up to STREAM_AHEAD
 * extents past its latest such fault: its next extent loads on the
 * server's core while it works through this one, instead of each fault
 * waiting for a whole extent (bench/lazy.ts: ×1.42 of an eager restart,
 * all memory read, before). The window keeps a program that stopped from
 * having its memory loaded ahead of the quiet wait for long. */
#define STREAM_AHEAD 64
static uint32_t stream_next, stream_end;

static void note_fault_in(uint32_t k)
{
	if (!lazy_continues_loaded(k))
		return;
	if (stream_next <= k || stream_next >= stream_end)
		stream_next = k + 1;
	stream_end = k + 1 + STREAM_AHEAD;
}

/* One extent of the stream loaded (or skipped); the stream ends at one
 * that does not follow on in memory. */
static void read_ahead(void)
{
	if (!lazy_continues_loaded(stream_next)) {
		stream_end = 0;
		return;
	}
	if (lazy_load_extent(stream_next, 1) == 0)
		stream_next++;
}

/* 0 once answered, -EAGAIN to try again after the next read. */
static long answer_fault(uint64_t addr)
{
	int released;
	uint64_t was = lazy_original_address(addr, &released);
	int k = released ? -1 : lazy_extent_at(was);
	if (k >= 0)
		note_fault_in((uint32_t)k);
	if (k >= 0 && lazy_load_extent((uint32_t)k, 0) == -EAGAIN)
		return -EAGAIN;
	struct uffdio_zeropage z = {.range = {addr, CKPT_PAGE_SIZE}, .mode = 0};
	long err = sys_ioctl(uffd, UFFDIO_ZEROPAGE, &z);
	if (err == -EAGAIN)
		return err;
	/* Loaded (EEXIST) or no longer ours (ENOENT): the thread's retry finds it. */
	struct uffdio_range wake = {addr, CKPT_PAGE_SIZE};
	sys_ioctl(uffd, UFFDIO_WAKE, &wake);
	return 0;
}

static void read_messages(void)
{
	struct uffd_msg msgs[64];
	long got;
	while ((got = sys_read(uffd, msgs, sizeof msgs)) > 0) {
		for (long i = 0; i < got / (long)sizeof msgs[0]; i++) {
			const struct uffd_msg *m = &msgs[i];
			if (m->event != UFFD_EVENT_PAGEFAULT) {
				lazy_record_event(m);
				continue;
			}
			if (nfaults == FAULTS_MAX)
				lazy_fail("more threads wait for memory than the page server can hold", 0, 0);
			faults[nfaults++] = m->arg.pagefault.address & ~(uint64_t)(CKPT_PAGE_SIZE - 1);
		}
	}
}

static void answer_faults(void)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < nfaults; i++)
		if (answer_fault(faults[i]) == -EAGAIN)
			faults[kept++] = faults[i];
	nfaults = kept;
}

#define QUIET_US 2000

static uint64_t monotonic_us(void)
{
	struct { int64_t sec, nsec; } t;
	sys_clock_gettime(1 /* CLOCK_MONOTONIC */, &t);
	return (uint64_t)t.sec * 1000000 + (uint64_t)t.nsec / 1000;
}

#define FIRST_TOUCH_WAIT_US 50000

/* How long to wait for a fault before loading large extents in the
 * background, rounded up to poll's ms: until the program's first touch
 * (at most FIRST_TOUCH_WAIT_US after the server's start), then until
 * QUIET_US after its latest. */
static int quiet_wait_ms(uint64_t start, uint64_t last_touch)
{
	uint64_t now = monotonic_us();
	uint64_t until = last_touch ? last_touch + QUIET_US : start + FIRST_TOUCH_WAIT_US;
	return now >= until ? 0 : (int)((until - now + 999) / 1000);
}

/* Small extents first (stacks, the libc's data, the heap's bookkeeping:
 * what a program touches first), then the rest, each pass in file order. */
#define SMALL_EXTENT (1u << 20)

/* The watcher: waits for the server; an end by a signal kills the program
 * before it can see a page the server never loaded, and says so. An exit
 * is the server's own (done, the program gone, or lazy_fail, which has
 * killed it and said why). */
static __attribute__((noreturn)) void watch_server(long server, int program)
{
	sys_prctl(PR_SET_NAME, (unsigned long)CKPT_PAGE_WATCH_NAME, 0, 0, 0);
	int status = 0;
	while (sys_wait4((int)server, &status, 0) == -EINTR)
		;
	if ((status & 0x7f) == 0) /* exited */
		sys_exit_group(0);
	sys_pidfd_send_signal(program, SIGKILL, 0);
	struct line l = {.len = 0};
	line_str(&l, "ckpt: cannot go on with the restart of ");
	line_str(&l, restart.image);
	line_str(&l, ": its page server (" CKPT_PAGE_SERVER_NAME ") was killed by signal ");
	line_i64(&l, status & 0x7f);
	line_str(&l, " while memory was still loading; the program was killed before it could read memory not loaded yet (--lazy)\n");
	sys_write(restart.err_fd, l.buf, l.len);
	sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
}

__attribute__((noreturn)) void serve_pages(int userfaultfd, int program)
{
	uffd = userfaultfd;
	leave_the_program(program);
	long server = clone_helper(SIGCHLD);
	if (server > 0)
		watch_server(server, program);
	if (server < 0)
		lazy_fail("cannot start the page server", 0, server);
	lazy_copy_init(uffd, program);
	const uint32_t n = restart.hdr->nextents;
	uint64_t longest = SMALL_EXTENT;
	uint32_t next = lazy_next_to_load(0, longest);
	uint64_t start = monotonic_us(), last_touch = 0;
	for (;;) {
		if (next >= n && longest == SMALL_EXTENT)
			longest = ~0ull, next = lazy_next_to_load(0, longest);
		if (next >= n && !nfaults)
			break;
		struct { int fd; short events, revents; } p[2] = {{uffd, POLLIN, 0}, {program, POLLIN, 0}};
		int gated = longest != SMALL_EXTENT, streaming = stream_next < stream_end;
		int wait_ms = streaming ? 0 : next >= n ? 10 /* a fault waiting for an event's read */ : gated ? quiet_wait_ms(start, last_touch) : 0;
		sys_poll(p, 2, wait_ms);
		if (p[1].revents)
			sys_exit_group(0); /* the program ended */
		read_messages();
		if (nfaults)
			last_touch = monotonic_us();
		answer_faults();
		if (streaming && !nfaults)
			read_ahead();
		next = lazy_next_to_load(next, longest);
		if (next < n && (!gated || quiet_wait_ms(start, last_touch) == 0) && lazy_load_extent(next, 1) == 0)
			next = lazy_next_to_load(next + 1, longest);
	}
	sys_close(uffd);
	sys_exit_group(0);
}
