/*
 * --continue checkpoints written by a copy-on-write child, so the program
 * is paused only for the capture and a fork.
 *
 * The children are made with raw clone() and exit signal 0, never fork():
 * no pthread_atfork handler runs, no SIGCHLD is sent, and the program's
 * waitpid(-1) (without __WALL) cannot see them. A first child, sharing
 * our memory (vfork_on_stack.S), clones the actual writer and exits at
 * once; we reap it with __WCLONE, and the writer, orphaned, is reaped by
 * init. Its pid comes back in our memory, and goes into the status line
 * so `ckpt checkpoint` can wait.
 *
 * An orphan goes to its nearest ancestor that is a child subreaper: in a
 * program that is one, the writer would become the program's child, whose
 * end its wait() reaps, with a SIGCHLD it never caused. There the first
 * child runs beside us instead (no CLONE_VFORK), says when the writer
 * exists, and exits only once we have turned the flag off; it is on again
 * as soon as we have reaped it, so the writer goes above us. For those few
 * microseconds an orphan of the program's own would go above it too.
 *
 * Why the first child shares our memory: the program is paused until it
 * has exited, and a copy of the address space (a plain fork) cost that
 * pause two page-table copies and one teardown for the writer's one copy,
 * three times the capture itself for 1 GiB (docs/performance.md).
 * The pause the writer reports is the program's, taken after the first
 * child is reaped and handed over in a shared page.
 *
 * Pages of MADV_DONTFORK regions do not exist in a child, and those of
 * MADV_WIPEONFORK regions read as zeros there: their data is copied to
 * scratch (which the child does inherit) before the fork. Pages without
 * read permission the writer reads from its own copy (unreadable_memory.c).
 *
 * Memory cost: every page the program writes while the child is writing
 * is copied once by the kernel; at most the size of the image.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "bounce_copy.h"
#include "shared_writer.h"
#include "tree.h"
#include "../sys.h"

#define WCLONE 0x80000000
#define WNOHANG 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define P_PID 1

static long plain_clone(void)
{
	return SYS5(__NR_clone, 0 /* no CLONE_* flags, exit signal 0 */, 0, 0, 0, 0);
}

/* What the coordinator tells the writer once the program can run again,
 * and what the writer leaves for the program's next checkpoint: a writer
 * killed (the OOM killer, SIGKILL) says nothing itself, and its exit
 * status reaches no one (init reaps it, or, on some machines, never). So
 * the page stays mapped, MADV_DONTFORK (a child of the program's has
 * none), until that writer is gone; then, if it never finished, the
 * program's next checkpoint says so (report_writer_killed). */
struct handoff {
	int32_t ready;    /* futex word: 1 once pause_ns is set */
	int32_t finished; /* set by the writer once image_write has returned, either way */
	uint64_t pause_ns;
	int32_t writer, periodic;
	char image[CKPT_PATH_MAX];
};
#define HANDOFF_BYTES ((sizeof(struct handoff) + 4095) & ~4095ul)

static struct handoff *watched; /* the latest writer's, until it is gone */
static int watched_owner;       /* the pid that mapped it: a forked child has no such page */

/* Once the latest writer is gone: its page read and unmapped. */
static void settle_watched(void)
{
	struct handoff *h = watched;
	watched = 0;
	if (!h || watched_owner != (int)sys_getpid())
		return;
	if (!__atomic_load_n(&h->finished, __ATOMIC_ACQUIRE))
		report_writer_killed(h->image, h->writer, h->periodic);
	sys_munmap(h, HANDOFF_BYTES);
}

int writer_watched(void)
{
	return watched && watched_owner == (int)sys_getpid();
}

static int last_writer; /* pid of the latest background writer, 0 after a restart */

/* Two writers must never race for the same image name: a new checkpoint,
 * in either mode, first waits for the previous background writer. It is
 * not our child (init reaps it), so wait on a pidfd. */
void wait_for_previous_writer(void)
{
	long fd = last_writer ? sys_pidfd_open(last_writer) : -1;
	last_writer = 0;
	if (fd >= 0) { /* else already gone */
		struct { int fd; short events, revents; } p = {(int)fd, 1 /* POLLIN: it exited */, 0};
		while (sys_poll(&p, 1, -1) == -4 /* EINTR */)
			;
		sys_close((int)fd);
	}
	settle_watched();
	shared_scratch_reclaim();
}

/* Whether the previous background writer is still at work, without
 * waiting: a periodic request then skips its turn rather than stop the
 * program until the writer is done. */
int previous_writer_running(void)
{
	if (!last_writer)
		return 0;
	long fd = sys_pidfd_open(last_writer);
	struct { int fd; short events, revents; } p = {(int)fd, 1 /* POLLIN: it exited */, 0};
	long ready = fd < 0 ? 1 : sys_poll(&p, 1, 0);
	if (fd >= 0)
		sys_close((int)fd);
	if (ready)
		settle_watched();
	return ready == 0;
}

void forget_previous_writer(void)
{
	last_writer = 0;
	watched = 0; /* unmapped before any capture (take_checkpoint): not in the image */
	shared_scratch_forget();
}

int previous_writer(void)
{
	return last_writer;
}

/* The pause the coordinator measured, or, if it never says (it cannot be
 * stopped in between but for SIGKILL), the part before the fork. */
static uint64_t program_pause(struct handoff *h, uint64_t before_fork_ns)
{
	const struct { long s, ns; } second = {1, 0};
	while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE))
		if (sys_futex(&h->ready, FUTEX_WAIT, 0, &second) == -110 /* ETIMEDOUT */)
			return before_fork_ns;
	return h->pause_ns;
}

struct first_child {
	struct capture *c;
	struct handoff *handoff;
	uint64_t started_ns, before_fork_ns;
	int32_t writer; /* written by the first child, in our memory */
	int beside;     /* the program is a child subreaper: see the top */
	int32_t step;   /* futex word, beside a subreaper: WRITER_MADE, then MAY_EXIT */
	struct shared_writer *shared; /* a writer sharing the program's memory (shared_writer.c), else a copy */
};

enum { WRITER_MADE = 1, MAY_EXIT = 2 };

static void writer_main(struct first_child *a)
{
	sys_prctl(PR_SET_NAME, (unsigned long)"ckpt-writer", 0, 0, 0);
	uint64_t size = 0;
	int rc = image_write(a->c, &size, 1);
	__atomic_store_n(&a->handoff->finished, 1, __ATOMIC_RELEASE);
	if (rc && a->c->hdr->nmembers)
		drop_captured_member_files(a->c); /* the tree's commit failed: its members' files are of no checkpoint */
	report_background(a->c, rc == 0, size, program_pause(a->handoff, a->before_fork_ns), a->started_ns);
	sys_exit_group(rc == 0 ? 0 : 1);
}

/* Runs in the first child, on its own stack, in our memory. The writer
 * gets a copy of that memory as it is now, this stack included. */
static void first_child_main(void *arg)
{
	struct first_child *a = arg;
	long w = a->shared ? start_shared_writer(a->shared, &a->handoff->finished) : plain_clone();
	if (w == 0)
		writer_main(a);
	a->writer = (int32_t)w;
	if (!a->beside)
		return;
	__atomic_store_n(&a->step, WRITER_MADE, __ATOMIC_RELEASE);
	sys_futex(&a->step, FUTEX_WAKE_PRIVATE, 1, 0);
	while (__atomic_load_n(&a->step, __ATOMIC_ACQUIRE) != MAY_EXIT)
		sys_futex(&a->step, FUTEX_WAIT_PRIVATE, WRITER_MADE, 0);
}

/* Beside a subreaper: once the writer exists (or the first child is gone,
 * killed), the flag off, then the first child let go. Its pid is ours
 * (CLONE_VM, no CLONE_THREAD), so a private futex reaches it. */
static void let_first_child_go(long mid, struct first_child *a)
{
	const struct { long s, ns; } tick = {0, 10 * 1000 * 1000};
	char info[128];
	while (__atomic_load_n(&a->step, __ATOMIC_ACQUIRE) != WRITER_MADE) {
		sys_futex(&a->step, FUTEX_WAIT_PRIVATE, 0, &tick);
		if (SYS5(__NR_waitid, P_PID, mid, info, WEXITED | WNOHANG | WNOWAIT | WCLONE, 0) == 0 && *(int32_t *)(info + 16))
			break; /* si_pid set: it ended before it said so */
	}
	sys_prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	__atomic_store_n(&a->step, MAY_EXIT, __ATOMIC_RELEASE);
	sys_futex(&a->step, FUTEX_WAKE_PRIVATE, 1, 0);
}

/* Makes the first child and reaps it: its pid, or -errno. */
static long run_first_child(char *stack_top, struct first_child *a)
{
	int subreaper = 0;
	sys_prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&subreaper, 0, 0, 0);
	a->beside = subreaper;
	long mid = subreaper ? clone_vm_on_stack(stack_top, first_child_main, a) : vfork_on_stack(stack_top, first_child_main, a);
	if (mid > 0 && subreaper)
		let_first_child_go(mid, a);
	int status = 0;
	if (mid > 0)
		while (SYS4(__NR_wait4, mid, &status, WCLONE, 0) == -4 /* EINTR */)
			;
	if (subreaper)
		sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return mid;
}

#define FIRST_CHILD_STACK (1u << 20) /* MAP_NORESERVE: pages only as the writer's calls touch them */

/* Returns the writer's pid, or -1 (with c->error set when it matters). */
int start_background_writer(struct capture *c, uint64_t started_ns)
{
	struct shared_writer *shared;
	if (prepare_shared_write(c, started_ns, &shared) || (!shared && bounce_data(c, 0, 0) < 0))
		return -1;
	long page = sys_mmap(0, HANDOFF_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page < 0)
		return -1;
	long stack = sys_mmap(0, FIRST_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stack < 0) {
		sys_munmap((void *)page, HANDOFF_BYTES);
		return -1;
	}
	struct handoff *h = (struct handoff *)page;
	h->periodic = c->periodic;
	str_copy(h->image, sizeof h->image, ckpt_config.image_path);
	struct first_child a = {c, h, started_ns, monotonic_ns() - started_ns, -1, 0, 0, shared};
	long mid = run_first_child((char *)stack + FIRST_CHILD_STACK, &a);
	int pid = mid > 0 ? a.writer : -1;
	h->writer = pid;
	h->pause_ns = monotonic_ns() - started_ns;
	if (shared && pid > 0)
		shared_scratch_handed(c, h->pause_ns);
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	sys_futex(&h->ready, FUTEX_WAKE, 1, 0); /* not _PRIVATE: the writer is another process */
	sys_munmap((void *)stack, FIRST_CHILD_STACK);
	if (pid > 0 && sys_madvise(h, HANDOFF_BYTES, MADV_DONTFORK) == 0) {
		watched = h, watched_owner = (int)sys_getpid();
	} else {
		sys_munmap(h, HANDOFF_BYTES);
	}
	if (pid > 0)
		last_writer = pid;
	return pid > 0 ? pid : -1;
}
