/*
 * A member's side of a tree's checkpoint (docs/process-trees.md, steps
 * 4-7), in its trigger handler, on the root's request alone (a sigqueue
 * value of CKPT_TREE_SIGVAL from si_pid == CKPT_PID, or from an ancestor
 * once CKPT_PID's process is gone: a daemon's, daemon_root.c):
 *
 *   map the root's control area (/proc/<root>/fd/<fd>: a same-user
 *   process may open it), stop its own threads and take its pending
 *   signals as a single process does, mark its slot STOPPED, and wait for
 *   the root's command. CAPTURE: capture itself as a single process does,
 *   its descriptors weighed against the other members' (tree_fds.c), and
 *   write its image beside the root's under its member file name (in the
 *   background, incremental against its own previous one); WRITTEN with
 *   the image's id, size and header checksum, or FAILED with the reason. Then RESUME (run on) or EXIT (status 85,
 *   which nobody sees: its parent is a member and exits too).
 *
 * A request that finds the checkpoint already over (a member that held
 * the signal blocked past the root's deadline) sees RESUME and returns.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "early_protect.h"
#include "mempolicy.h"
#include "namespaces.h"
#include "tree.h"
#include "../sys.h"

int tree_request(const siginfo_t *info)
{
	uint64_t v = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
	if (info->si_code != SI_QUEUE || (uint32_t)v != CKPT_TREE_SIGVAL)
		return 0;
	if (info->si_pid == ckpt_config.pid)
		return 1;
	/* A daemon that became a root of its own (daemon_root.c) asks what
	 * it forked, whose CKPT_PID still names the exited root: it is their
	 * root from now on, for a later exec too. */
	if (info->si_pid <= 1 || !launch_root_exited() || !is_ancestor(info->si_pid))
		return 0;
	launch_pid_moved(info->si_pid);
	return 1;
}

static struct tree_control *map_control(const siginfo_t *info, uint64_t *len)
{
	uint64_t v = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
	struct line path = proc_path((uint64_t)info->si_pid, "fd/");
	line_u64(&path, (v >> CKPT_TREE_FD_SHIFT) & 0xffff);
	long fd = sys_openat(AT_FDCWD, path.buf, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct stat st;
	long m = -1;
	*len = tree_control_size(CKPT_MAX_MEMBERS);
	if (sys_fstat((int)fd, &st) == 0 && (uint64_t)st.st_size == *len)
		m = sys_mmap(0, *len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	sys_close((int)fd);
	if (m < 0)
		return 0;
	struct tree_control *t = (struct tree_control *)m;
	if (t->magic != TREE_CONTROL_MAGIC || t->root_pid != info->si_pid) {
		sys_munmap(t, *len);
		return 0;
	}
	return t;
}

static void answer(struct tree_control *t, struct tree_slot *s, uint32_t state)
{
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
	__atomic_add_fetch(&t->answers, 1, __ATOMIC_RELEASE);
	sys_futex(&t->answers, FUTEX_WAKE, 0x7fffffff, 0);
}

static void fail_slot(struct tree_control *t, struct tree_slot *s, const struct capture *c)
{
	str_copy(s->failure, sizeof s->failure, c->error.len ? c->error.buf : "its capture failed");
	answer(t, s, SLOT_FAILED);
}

/* The root's next command other than `current`; RESUME if the root is
 * gone (killed mid-checkpoint): nobody else would ever release us. */
static uint32_t await_command(struct tree_control *t, uint32_t current)
{
	uint32_t cmd;
	while ((cmd = __atomic_load_n(&t->command, __ATOMIC_ACQUIRE)) == current) {
		struct { long sec, nsec; } tick = {0, 100 * 1000 * 1000};
		sys_futex(&t->command, FUTEX_WAIT, current, &tick);
		if (__atomic_load_n(&t->command, __ATOMIC_ACQUIRE) == current && process_gone(t->root_pid))
			return TREE_RESUME;
	}
	return cmd;
}

/* This process's last member image, the one its next reads from when
 * tracking goes on (incremental.c holds it to the id the tracking dates
 * from: a file removed since, or another process's, makes the image
 * whole). A forked child inherits its parent's name, but its tracking
 * starts afresh (dirty_tracking.c), so it never reads from it. */
static char previous_image[CKPT_PATH_MAX];

/* Steps 3-5 of a single process's checkpoint for this member; returns 1
 * after a restart, 0 when written, -1 on failure (c->error). In the
 * background (--continue, --interval) it tracks its pages as a single
 * process does, and writes only those changed since its previous image:
 * while stopped, as the root waits for every member's answer. */
static int capture_member(struct capture *c, struct tree_control *t, uint64_t *size)
{
	struct line path = {.len = 0};
	member_file_name(&path, t->image_path, t->tree_id, (int)sys_getpid());
	c->member_path = path.buf;
	c->tree = t;
	c->periodic = (int)t->periodic;
	early_protect_settle(c); /* a table inherited from the root, never this member's own */
	if (t->background)
		tracking_begin(c); /* before capture_fds: it may close an inherited userfaultfd */
	if (capture_fds(c))
		return -1;
	refresh_file_offsets(c);
	if (capture_process(c) || capture_regions(c) || capture_region_mempolicies(c) || capture_vmflags(c) ||
	    check_unreadable(c))
		return -1;
	untrack_unstable_regions(c);
	c->hdr->tree_id = t->tree_id;
	if (ckpt_save_context(&own_slot(c)->resume))
		return 1;
	if (t->background)
		tracking_protect(c);
	c->parent_path = previous_image; /* none yet (""): opening it fails, the image is whole */
	int rc = image_write(c, size, 0);
	if (rc == 0)
		str_copy(previous_image, sizeof previous_image, path.buf);
	return rc;
}

int tree_member_checkpoint(const siginfo_t *info, const void *uc)
{
	if (coordinator_begin())
		return 0;
	uint64_t len = 0;
	struct tree_control *t = map_control(info, &len);
	uint32_t index = (uint32_t)((uint64_t)(uintptr_t)info->si_value.sival_ptr >> CKPT_TREE_SLOT_SHIFT);
	struct tree_slot *s = t && index < t->nslots ? tree_slot_at(t, index) : 0;
	if (!s || s->pid != (int32_t)sys_getpid() || t->command != TREE_WAIT ||
	    __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_ASKED) {
		if (t)
			sys_munmap(t, len);
		coordinator_release();
		return 0; /* not for us, or too late: the root has moved on */
	}
	uint64_t stop_signal = 1ull << (CKPT_THREAD_SIGNAL - 1);
	sys_rt_sigprocmask(SIG_BLOCK, &stop_signal, 0);
	sys_rt_sigpending(&ckpt_config.sigs_pending_at_entry);
	ckpt_config.stderr_ours_at_capture = stderr_is_ours(); /* kept in the image, read at restart (say.c) */
	struct capture c = {.pipe_scratch = {-1, -1}};
	uint64_t size = 0;
	int rc = -1;
	if (scratch_open(&c)) {
		fail_slot(t, s, &c);
	} else {
		c.hdr->created_ns = now_ns(0 /* CLOCK_REALTIME */);
		c.hdr->image_id = new_image_id();
		if (refuse_own_namespaces(&c) || stop_other_threads(&c, uc) || capture_pending_signals(&c)) {
			fail_slot(t, s, &c);
		} else {
			answer(t, s, SLOT_STOPPED);
			if (await_command(t, TREE_WAIT) == TREE_CAPTURE) {
				rc = capture_member(&c, t, &size);
				if (rc == 1)
					return 1; /* restarted: the control area and scratch are not in the image */
				if (rc == 0) {
					s->image_id = c.hdr->image_id, s->file_size = size, s->header_crc = c.hdr->header_crc;
					s->nthreads = c.nthreads;
					answer(t, s, SLOT_WRITTEN);
				} else {
					fail_slot(t, s, &c);
				}
			}
		}
	}
	uint32_t cmd = await_command(t, TREE_CAPTURE);
	if (cmd == TREE_WAIT) /* failed before the root's command: wait for its verdict */
		cmd = await_command(t, TREE_WAIT);
	if (cmd == TREE_EXIT && rc == 0)
		sys_exit_group(CKPT_EXIT_CHECKPOINTED);
	scratch_close(&c);
	sys_munmap(t, len);
	coordinator_release();
	return 0;
}
