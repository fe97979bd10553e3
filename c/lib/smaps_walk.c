/*
 * /proc/self/smaps read for its VmFlags lines, on a thread of its own.
 *
 * Why: the kernel computes every entry's RSS and PSS on the way, a walk of
 * each resident page; for a 1 GiB heap of 4 KiB pages that is 6-10 ms of
 * the pause here, its largest part (docs/performance.md). The flags must be
 * those of the stop, so the walk cannot start before every program thread
 * has stopped; but nothing else in the capture needs them until
 * capture_vmflags applies them to the regions. So the walk starts right
 * after the stop, on a raw thread (clone_worker.S) on the other core, and
 * the capture of descriptors, process state and regions runs beside it.
 * Both only read the memory map (the mmap lock taken shared).
 *
 * The worker is ckpt's: it starts after the thread list was taken, with
 * every signal blocked from its first instruction (worker.c), lives in scratch (its stack, its window, its table)
 * and is gone before capture_vmflags returns or scratch is unmapped. The
 * descriptor it reads is opened before it starts and closed after it is
 * gone, so it holds one number throughout, which the listing of the
 * program's descriptors skips (capture_fds.c). No unshare(CLONE_FILES)
 * for a table of its own: a sandbox's seccomp filter may kill for it.
 */
#include <errno.h>
#include <fcntl.h>
#include "ckpt_lib.h"
#include "smaps_walk.h"
#include "worker.h"
#include "../maps.h"
#include "../str.h"
#include "../sys.h"

enum { IDLE, RUNNING, DONE };

struct smaps_walk {
	int32_t tid;            /* the worker's; the kernel clears it, with a futex wake, as it exits */
	int32_t state;          /* enum above */
	int fd;                 /* smaps, opened before the worker starts; -1 */
	long rc;                /* 0, or -errno */
	uint32_t nspans, cap;
	uint64_t start, stop;   /* the entry whose lines are being read */
	struct vm_span *spans;
	char *window;
	char *stack_top;
};

struct smaps_walk *smaps_walk_place(char *area)
{
	struct smaps_walk *w = (struct smaps_walk *)area;
	*w = (struct smaps_walk){.state = IDLE, .fd = -1};
	w->window = area + 4096;
	w->spans = (struct vm_span *)(w->window + SMAPS_WINDOW);
	w->cap = SMAPS_SPANS_BYTES / sizeof(struct vm_span);
	w->stack_top = area + SMAPS_WALK_AREA;
	return w;
}

/* Whole lines: an entry's first line gives its range, its VmFlags line
 * the span. */
static long walk_lines(struct smaps_walk *w, const char *p, const char *end)
{
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		struct maps_entry e;
		const char *cur = p;
		if (str_starts(p, "VmFlags:")) {
			if (w->nspans == w->cap)
				return -ENOSPC;
			w->spans[w->nspans++] = (struct vm_span){w->start, w->stop, maps_vmflags(p + 8, eol)};
		} else if (maps_next(&cur, eol, &e) == 1) {
			w->start = e.start, w->stop = e.end;
		}
		p = eol + 1;
	}
	return 0;
}

/* smaps is read a window at a time, the unfinished last line carried to
 * the next window: at about 550 bytes an entry, the whole text for the
 * kernel's default limit of 65,530 entries would be 36 MiB. */
static long walk(struct smaps_walk *w)
{
	if (w->fd < 0)
		w->fd = (int)sys_openat(AT_FDCWD, "/proc/self/smaps", O_RDONLY | O_CLOEXEC, 0);
	if (w->fd < 0)
		return w->fd;
	int fd = w->fd;
	uint64_t have = 0;
	long n;
	do {
		n = sys_read(fd, w->window + have, SMAPS_WINDOW - have);
		if (n < 0)
			break;
		have += (uint64_t)n;
		uint64_t whole = have;
		while (n > 0 && whole > 0 && w->window[whole - 1] != '\n')
			whole--;
		if (n > 0 && whole == 0 && have == SMAPS_WINDOW) {
			n = -E2BIG; /* one line longer than the window: a path is at most 4 KiB, so never */
			break;
		}
		long err = walk_lines(w, w->window, w->window + whole);
		if (err) {
			n = err;
			break;
		}
		for (uint64_t i = whole; i < have; i++)
			w->window[i - whole] = w->window[i];
		have -= whole;
	} while (n > 0);
	return n < 0 ? n : 0;
}

static void worker(void *arg)
{
	struct smaps_walk *w = arg;
	w->rc = walk(w);
}

void smaps_walk_begin(struct smaps_walk *w)
{
	if (w->state != IDLE)
		return;
	w->fd = (int)sys_openat(AT_FDCWD, "/proc/self/smaps", O_RDONLY | O_CLOEXEC, 0);
	if (w->fd < 0)
		return; /* the join tries again, and says why */
	w->state = RUNNING;
	if (start_worker(w->stack_top, &w->tid, worker, w) < 0)
		w->state = IDLE;
}

int smaps_walk_fd(const struct smaps_walk *w)
{
	return w ? w->fd : -1;
}

void smaps_walk_end(struct smaps_walk *w)
{
	wait_worker_gone(&w->tid);
	w->state = DONE;
	if (w->fd >= 0)
		sys_close(w->fd);
	w->fd = -1;
}

long smaps_walk_join(struct smaps_walk *w, const struct vm_span **spans, uint32_t *n)
{
	if (w->state == IDLE)
		w->rc = walk(w);
	smaps_walk_end(w);
	*spans = w->spans;
	*n = w->nspans;
	return w->rc;
}
