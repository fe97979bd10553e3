/*
 * Protecting the written pages again before the program stops, for an
 * incremental image (dirty_tracking.c says what the bits mean).
 *
 * Why: at an incremental checkpoint every page written since the last one
 * must be write-protected again, and in this VM each protected page costs
 * 2.5-4 µs of page-table work: 10-17 ms for 16 MiB of scattered pages, the
 * largest part of the pause (docs/performance.md). PAGEMAP_SCAN with
 * PM_SCAN_WP_MATCHING reports the written pages and protects them
 * atomically, page by page under the page-table lock, so it may run while
 * the program does; only what it finds must be remembered.
 *
 * How: a background request that would make an incremental image does not
 * stop the program. The handler starts a helper thread (clone_worker.S: a
 * raw thread, every signal blocked, on a stack of its own) and returns.
 * The helper scans the whole address space once: each page written since
 * the last image is protected again, and its run noted in a table (the
 * "early" runs); then it queues the request again (EARLY_SIGVAL) and
 * exits. That second request is the checkpoint itself: the capture takes
 * a page as unchanged only if its bit is set and it is in no early run.
 * So:
 *   - a page written before the helper reached it is in an early run: data;
 *   - a page written after is unprotected again at the capture: data;
 *   - a page the helper could not protect or note (the table full, a
 *     swapped page, a range it did not reach) is still unprotected: data.
 * Every miss is a page stored, never one taken as unchanged. The capture
 * then protects what was written since the helper's scan, a short list.
 *
 * The helper also sums every page still protected (checksum_unchanged),
 * so the writer need not read the unchanged pages of its copy for their
 * PARENT checksums (incremental.c, early_unchanged_crc), and copies the
 * pages it found written, so the pause need not (early_copy.c).
 *
 * The helper's table lives only until the next capture of this process,
 * which moves it into scratch and unmaps the rest before the memory map
 * is read (it never reaches an image). Until that capture has protected the pages
 * again, the bits alone no longer say what changed since the last image:
 * tracking_suspend() forgets that image, so a capture that fails, stops
 * the program or writes in the foreground leaves the next image full. The
 * same holds when the helper failed, or in a forked child, which inherits
 * the table but not the helper.
 *
 * The helper is visible while it runs (tens of milliseconds): as a thread
 * in /proc/self/task, and as a mapping. It takes no signal, and no lock the
 * program knows of.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include "ckpt_lib.h"
#include "early_copy.h"
#include "early_protect.h"
#include "tracking_fds.h"
#include "pagemap_scan.h"
#include "worker.h"
#include "../crc32c.h"
#include "../sys.h"

#ifndef MREMAP_FIXED /* <sys/mman.h> has them only with _GNU_SOURCE */
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif
#define EARLY_SIGVAL 0x636b7065 /* "ckpe": the helper's request, libckpt's own */
#define STACK_BYTES (64u << 10)
#define BOUNCE_BYTES (64u << 10) /* the helper reads pages through it, never in place */
#define AREA_BYTES (EARLY_TABLE_BYTES + EARLY_SUMS_BYTES + BOUNCE_BYTES + STACK_BYTES)
#define USER_END 0x7ffffffff000ull /* 47-bit user space; memory above is never protected here, so stored */

enum { IDLE, SCANNING, READY, LOST };

static int32_t state;         /* enum above; the helper sets READY or LOST */
static int32_t helper_tid;    /* the kernel clears it, with a futex wake, as the helper exits */
static int owner;             /* the pid that started the helper: a forked child's copy is not its own */
static char *area;            /* the table, the sums, the bounce buffer, the helper's stack */
static uint32_t nruns;        /* runs in the table */
static uint32_t nsum_runs, nsums; /* unchanged runs and their pages' checksums */
static uint64_t request_value; /* sival of the request the helper queues */

/* Protects again every page of our registered memory written since the
 * last protect, noting its run: present, not the file's page (as
 * dirty_tracking.c's match_for asks of a private file mapping; in
 * anonymous memory that leaves out swapped pages, which the capture
 * stores). A range not registered with our userfaultfd is skipped by the
 * kernel (no PM_SCAN_CHECK_WPASYNC). 0, or -1: the table cannot be trusted. */
static int scan_written(int pagemap)
{
	struct page_region *runs = (struct page_region *)area;
	const uint64_t cap = EARLY_TABLE_BYTES / sizeof *runs;
	for (uint64_t at = CKPT_LOWEST_ADDRESS; at < USER_END && nruns < cap;) {
		struct pm_scan_arg scan = {
			.size = sizeof scan, .flags = PM_SCAN_WP_MATCHING, .start = at, .end = USER_END,
			.vec = (uint64_t)(runs + nruns), .vec_len = cap - nruns,
			.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_FILE,
			.category_inverted = PAGE_IS_FILE, .return_mask = PAGE_IS_WRITTEN,
		};
		long n = sys_ioctl(pagemap, PAGEMAP_SCAN, &scan);
		if (n < 0)
			return -1; /* pages of this call may be protected and not noted */
		nruns += (uint32_t)n;
		if (scan.walk_end <= at)
			break;
		at = scan.walk_end;
	}
	return 0;
}

/* The sums area: EARLY_SUM_RUNS runs, then one CRC32C a page. */
static struct page_region *sum_runs(void) { return (struct page_region *)(area + EARLY_TABLE_BYTES); }
static uint32_t *sums(void) { return (uint32_t *)(area + EARLY_TABLE_BYTES + EARLY_SUM_RUNS_BYTES); }

/* Checksums one run's pages into sums(), read through the bounce buffer
 * with process_vm_readv: the program may unmap them meanwhile, and a
 * fault here would end it. Returns the pages done (fewer: the rest of
 * the run went away, or the sums are full). */
static uint64_t checksum_run(uint64_t start, uint64_t end)
{
	char *bounce = area + EARLY_TABLE_BYTES + EARLY_SUMS_BYTES;
	const uint64_t cap = (EARLY_SUMS_BYTES - EARLY_SUM_RUNS_BYTES) / sizeof(uint32_t);
	uint64_t done = 0;
	for (uint64_t at = start; at < end && nsums < cap;) {
		uint64_t len = end - at < BOUNCE_BYTES ? end - at : BOUNCE_BYTES;
		if ((cap - nsums) * CKPT_PAGE_SIZE < len)
			len = (cap - nsums) * CKPT_PAGE_SIZE;
		struct { void *base; uint64_t len; } local = {bounce, len}, remote = {(void *)at, len};
		long n = sys_process_vm_readv((int)sys_getpid(), &local, 1, &remote, 1);
		if (n <= 0)
			break;
		for (long off = 0; off + CKPT_PAGE_SIZE <= n; off += CKPT_PAGE_SIZE, done++)
			sums()[nsums++] = crc32c_update(0, bounce + off, CKPT_PAGE_SIZE);
		if ((uint64_t)n < len)
			break;
		at += len;
	}
	return done;
}

/* Each page still protected (present, not written since the last image:
 * the capture's PARENT candidates) with the CRC32C of its bytes, so the
 * writer need not read them (docs/performance.md, "Round 4": a child
 * reading every page of its copy costs a second for 1 GiB in this VM).
 * A page written after it was summed loses its bit and is stored, so a
 * sum the capture uses is of the bytes it takes as unchanged. Each run's
 * categories word becomes the index of its first page's sum. */
static void checksum_unchanged(int pagemap)
{
	struct page_region *runs = sum_runs();
	for (uint64_t at = CKPT_LOWEST_ADDRESS; at < USER_END && nsum_runs < EARLY_SUM_RUNS;) {
		struct pm_scan_arg scan = {
			.size = sizeof scan, .start = at, .end = USER_END, .vec = (uint64_t)(runs + nsum_runs),
			.vec_len = EARLY_SUM_RUNS - nsum_runs, .category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
			.category_inverted = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_PRESENT,
		};
		long n = sys_ioctl(pagemap, PAGEMAP_SCAN, &scan);
		if (n <= 0)
			return;
		for (long i = 0; i < n; i++) {
			struct page_region *r = &runs[nsum_runs];
			uint64_t first = nsums, pages = checksum_run(runs[nsum_runs].start, runs[nsum_runs].end);
			if (!pages)
				return; /* what has no sum is read by the writer, as before */
			r->categories = first;
			nsum_runs++;
			if (r->start + pages * CKPT_PAGE_SIZE < r->end) {
				r->end = r->start + pages * CKPT_PAGE_SIZE;
				return;
			}
		}
		if (scan.walk_end <= at)
			return;
		at = scan.walk_end;
	}
}

static void helper_main(void *unused)
{
	(void)unused;
	/* Opened high during a capture: one opened here would take the lowest
	 * free number while the program runs (tracking_fds.c). */
	int pagemap = tracking_pagemap();
	int done = pagemap >= 0 && scan_written(pagemap) == 0;
	if (done) {
		checksum_unchanged(pagemap);
		early_copy_runs((struct page_region *)area, nruns);
	}
	__atomic_store_n(&state, done ? READY : LOST, __ATOMIC_RELEASE);
	siginfo_t info = {.si_signo = ckpt_config.signal, .si_code = SI_QUEUE};
	info.si_pid = (int)sys_getpid();
	info.si_uid = (uint32_t)sys_getuid();
	info.si_value.sival_ptr = (void *)(uintptr_t)request_value;
	/* Refused (the queue of pending signals full): the next request finds the table ready. */
	sys_rt_sigqueueinfo((int)sys_getpid(), ckpt_config.signal, &info);
}

int early_protect_start(int request, const siginfo_t *info)
{
	if (state != IDLE || !tracking_dates_from_image())
		return 0;
	long m = sys_mmap(0, AREA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m < 0)
		return 0;
	area = (char *)m;
	nruns = nsum_runs = nsums = 0;
	owner = (int)sys_getpid();
	request_value = EARLY_SIGVAL | (request == 3 ? (uint64_t)requested_keep(info) << CKPT_REQUEST_KEEP_SHIFT : 0);
	state = SCANNING;
	if (start_worker(area + AREA_BYTES, &helper_tid, helper_main, 0) < 0) {
		sys_munmap(area, AREA_BYTES);
		area = 0;
		state = IDLE;
		return 0;
	}
	return 1;
}

int early_protect_request(const siginfo_t *info)
{
	if (info->si_code != SI_QUEUE || info->si_value.sival_int != EARLY_SIGVAL || info->si_pid != (int)sys_getpid())
		return 0;
	/* Found stale (a request in between took the checkpoint already), it
	 * is still served: a request sent while it was pending was merged into
	 * it (a pending signal of the first 31 is not queued twice), and would
	 * otherwise be lost. The cost is a checkpoint nobody asked for. */
	return requested_keep(info) ? 3 : 2;
}

/* The table and the sums move into scratch by their page tables, not
 * copied: a copy lands on fresh pages, 1-3 ms of the pause here for the
 * megabyte of sums a 1 GiB heap has. Scratch lays its copies out as the
 * area does (scratch.c). The bytes moved, or 0. */
static uint64_t move_tables(struct capture *c)
{
	const uint64_t len = EARLY_TABLE_BYTES + EARLY_SUMS_BYTES;
	char *to = (char *)c->early;
	if ((char *)c->early_sum_runs != to + EARLY_TABLE_BYTES ||
	    (char *)c->early_sums != to + EARLY_TABLE_BYTES + EARLY_SUM_RUNS_BYTES)
		return 0;
	return sys_mremap(area, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) == (long)to ? len : 0;
}

void early_protect_settle(struct capture *c)
{
	c->early_taken = 0;
	c->nearly = c->nearly_sum_runs = 0;
	if (state == IDLE)
		return;
	int own = owner == (int)sys_getpid();
	if (own)
		wait_worker_gone(&helper_tid);
	uint64_t parent = tracking_suspend();
	uint64_t moved = 0;
	if (own && __atomic_load_n(&state, __ATOMIC_ACQUIRE) == READY) {
		moved = move_tables(c);
		if (!moved) {
			__builtin_memcpy(c->early, area, (uint64_t)nruns * sizeof(struct page_region));
			__builtin_memcpy(c->early_sum_runs, sum_runs(), (uint64_t)nsum_runs * sizeof(struct page_region));
			__builtin_memcpy(c->early_sums, sums(), (uint64_t)nsums * sizeof(uint32_t));
		}
		c->nearly = nruns;
		c->nearly_sum_runs = nsum_runs;
		c->early_taken = 1;
		c->early_parent = parent;
	}
	sys_munmap(area + moved, AREA_BYTES - moved);
	area = 0;
	state = IDLE;
}

uint64_t early_written_pages(const struct capture *c)
{
	uint64_t pages = 0;
	for (uint32_t i = 0; i < c->nearly; i++)
		pages += (c->early[i].end - c->early[i].start) / CKPT_PAGE_SIZE;
	return pages;
}

/* Multiplying a CRC32C by x^(8 * 4096) modulo its polynomial: the CRC of
 * A followed by page B is shift(crc(A)) ^ crc(B) (with this CRC's
 * inverted start and end, which cancel). The shift is linear, so a table
 * a byte of the value wide gives it in four lookups; each entry is the
 * XOR of the columns of its bits, column i being the shift of bit i, found
 * by running a page of zeros through the checksum from that state. Four
 * lookups instead of 32 tested bits: a 1 GiB image combines a quarter of
 * a million sums. */
static uint32_t shift_table[4][256];

static void fill_shift_table(void)
{
	static const char zeros[CKPT_PAGE_SIZE];
	uint32_t column[32];
	for (int i = 0; i < 32; i++)
		column[i] = ~crc32c_update(~(1u << i), zeros, sizeof zeros);
	for (int byte = 0; byte < 4; byte++)
		for (uint32_t v = 0; v < 256; v++) {
			uint32_t r = 0;
			for (int bit = 0; bit < 8; bit++)
				if (v >> bit & 1)
					r ^= column[byte * 8 + bit];
			shift_table[byte][v] = r;
		}
}

static uint32_t shift_by_page(uint32_t v)
{
	return shift_table[0][v & 255] ^ shift_table[1][v >> 8 & 255] ^ shift_table[2][v >> 16 & 255] ^ shift_table[3][v >> 24];
}

const uint32_t *early_page_sums(const struct capture *c, uint64_t start, uint64_t len)
{
	const struct page_region *runs = c->early_sum_runs;
	uint32_t lo = early_run_ending_after(runs, c->nearly_sum_runs, start);
	if (lo == c->nearly_sum_runs || runs[lo].start > start || runs[lo].end < start + len || !len)
		return 0;
	return c->early_sums + runs[lo].categories + (start - runs[lo].start) / CKPT_PAGE_SIZE;
}

int early_unchanged_crc(const struct capture *c, uint64_t start, uint64_t len, uint32_t *crc)
{
	const uint32_t *page = early_page_sums(c, start, len);
	if (!page)
		return 0;
	if (!shift_table[0][1])
		fill_shift_table();
	uint32_t sum = page[0];
	for (uint64_t i = 1; i < len / CKPT_PAGE_SIZE; i++)
		sum = shift_by_page(sum) ^ page[i];
	*crc = sum;
	return 1;
}
