/*
 * --continue checkpoints written by a copy-on-write child, so the program
 * is paused only for the capture and a fork.
 *
 * The child is made with raw clone() and exit signal 0, never fork():
 * no pthread_atfork handler runs, no SIGCHLD is sent, and the program's
 * waitpid(-1) (without __WALL) cannot see it. It clones the actual writer
 * and exits at once; we reap it with __WCLONE, and the writer, orphaned,
 * is reaped by init. Its pid comes back through a page shared for the
 * purpose, and goes into the status line so `ckpt checkpoint` can wait.
 *
 * Pages of MADV_DONTFORK regions do not exist in a child, and those of
 * MADV_WIPEONFORK regions read as zeros there: their data is copied to
 * scratch (which the child does inherit) before the fork.
 *
 * Memory cost: every page the program writes while the child is writing
 * is copied once by the kernel; at most the size of the image.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "../maps.h"
#include "../sys.h"

#define WCLONE 0x80000000

static long plain_clone(void)
{
	return SYS5(__NR_clone, 0 /* no CLONE_* flags, exit signal 0 */, 0, 0, 0, 0);
}

static int vmflag(const char *p, const char *end, const char *flag)
{
	for (; p + 2 <= end; p++)
		if (p[-1] == ' ' && p[0] == flag[0] && p[1] == flag[1] && (p + 2 == end || p[2] == ' ' || p[2] == '\n'))
			return 1;
	return 0;
}

/* Copies DATA extents of regions the child will not see as they are. */
static int copy_unforkable(struct capture *c)
{
	uint64_t bounced = 0;
	long len = read_proc_file(c, "/proc/self/smaps");
	if (len <= 0)
		return capture_fail(c, "cannot read /proc/self/smaps", len);
	const char *p = c->text, *end = c->text + len;
	uint64_t start = 0;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		struct maps_entry e;
		const char *cur = p;
		if (str_starts(p, "VmFlags:")) {
			if (vmflag(p + 8, eol, "dc") || vmflag(p + 8, eol, "wf"))
				for (uint32_t i = 0; i < c->nregions; i++) {
					const struct ckpt_region *r = &c->regions[i];
					if (r->start != start)
						continue;
					for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
						const struct ckpt_extent *x = &c->extents[k];
						if (x->kind != CKPT_EXTENT_DATA)
							continue;
						if (bounced + x->len > c->bounce_cap)
							return capture_fail(c, "too much MADV_DONTFORK/WIPEONFORK memory to copy", 0);
						__builtin_memcpy(c->bounce + bounced, (const void *)x->start, x->len);
						c->extent_src[k] = (uint64_t)(c->bounce + bounced);
						bounced += x->len;
					}
				}
		} else if (maps_next(&cur, eol, &e) == 1) {
			start = e.start;
		}
		p = eol + 1;
	}
	return 0;
}

static int last_writer; /* pid of the latest background writer, 0 after a restart */

/* Two writers must never race for the same image name: a new checkpoint,
 * in either mode, first waits for the previous background writer. It is
 * not our child (init reaps it), so wait on a pidfd. */
void wait_for_previous_writer(void)
{
	if (!last_writer)
		return;
	long fd = sys_pidfd_open(last_writer);
	last_writer = 0;
	if (fd < 0)
		return; /* already gone */
	struct { int fd; short events, revents; } p = {(int)fd, 1 /* POLLIN: it exited */, 0};
	while (sys_poll(&p, 1, -1) == -4 /* EINTR */)
		;
	sys_close((int)fd);
}

void forget_previous_writer(void)
{
	last_writer = 0;
}

int previous_writer(void)
{
	return last_writer;
}

static void writer_main(struct capture *c, uint64_t pause_ns, uint64_t started_ns)
{
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-writer", 0, 0, 0);
	uint64_t size = 0;
	int rc = image_write(c, &size, 1);
	report_background(c, rc == 0, size, pause_ns, started_ns);
	sys_exit_group(rc == 0 ? 0 : 1);
}

/* Returns the writer's pid, or -1 (with c->error set when it matters). */
int start_background_writer(struct capture *c, uint64_t started_ns)
{
	if (copy_unforkable(c))
		return -1;
	long page = sys_mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page < 0)
		return -1;
	volatile int32_t *writer = (volatile int32_t *)page;
	uint64_t pause_ns = monotonic_ns() - started_ns;
	long mid = plain_clone();
	if (mid == 0) {
		long w = plain_clone();
		if (w == 0)
			writer_main(c, pause_ns, started_ns);
		*writer = (int32_t)w;
		sys_exit_group(0);
	}
	int status = 0;
	if (mid > 0)
		while (SYS4(__NR_wait4, mid, &status, WCLONE, 0) == -4 /* EINTR */)
			;
	int pid = mid > 0 ? *writer : -1;
	sys_munmap((void *)page, 4096);
	if (pid > 0)
		last_writer = pid;
	return pid > 0 ? pid : -1;
}
