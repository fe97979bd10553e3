/*
 * The checkpoint signal handler.
 *
 * Algorithm:
 *   1. Coordinator: the thread that got the signal takes the checkpoint
 *      lock (a second request waits for the first to finish), maps a scratch
 *      area (the program may have been inside malloc, so no libc). After
 *      `ckpt restart --lazy` it first waits until the page server has
 *      loaded all memory (lazy_wait.c), or refuses.
 *   2. Per-thread capture: every other thread is stopped in its own handler
 *      (threads.c) and records its kernel-held state (fs base, tid address,
 *      robust list, rseq, altstack, mask) and resume point; so does the
 *      coordinator. Registers are already safe in each signal frame.
 *      Pending signals, each thread's and the process's, are read into the
 *      image and queued again at once (pending_signals.c).
 *   3. Process tree (tree.c): with children, every member is stopped in
 *      its own handler before anything is saved, and writes its own image
 *      once the root's descriptors are captured (docs/process-trees.md).
 *      Process capture: descriptors (first, so an unsupported one fails the
 *      checkpoint before any heavy work), dispositions, timers, limits, the
 *      mm layout, then the memory map split into extents; with --continue,
 *      pages unchanged since the last copy are marked (dirty_tracking.c)
 *      and, once captured, protected again for the next one. Most of
 *      that protecting is done before the stop, while the program runs:
 *      the first request of an incremental checkpoint only starts a
 *      helper, whose own request then takes it (early_protect.c).
 *   4. ckpt_save_context() marks the point a restart resumes at. It returns
 *      0 now, and 1 in the restored process, where we skip to step 7.
 *   5. Writer: the image goes to disk atomically (image_writer.c).
 *   6. Stop (exit with CKPT_EXIT_CHECKPOINTED, never flushing stdio: data
 *      buffered in the program is in the image and must appear only once,
 *      after restart) or, with --continue, for a periodic request or on
 *      failure, release the other threads and return to the program. A
 *      periodic request that finds the last background writer still at
 *      work does nothing at all (step 1 is as far as it goes).
 *   7. After a restart: wait until every thread has left the stub's arena,
 *      unmap it, take the new image path, release the others and return, so
 *      rt_sigreturn resumes the interrupted code with all of its registers
 *      from the frame.
 * Every signal is blocked while this runs (sa_mask), so nothing in the
 * program changes memory under the capture, and a second request waits.
 * In a member of a tree (any process but the root) the handler acts on the
 * root's request alone (tree_member.c).
 */
#include <signal.h>
#include "ckpt_lib.h"
#include "smaps_walk.h"
#include "early_protect.h"
#include "interrupted_waits.h"
#include "lazy.h"
#include "mempolicy.h"
#include "seccomp.h"
#include "shared_writer.h"
#include "namespaces.h"
#include "../kinds/mem_kinds.h"
#include "tree.h"
#include "../sys.h"

static void after_restart(int member)
{
	struct ckpt_restart_info *ri = &ckpt_restart_info;
	__atomic_sub_fetch(&ri->threads_in_stub, 1, __ATOMIC_RELEASE);
	forget_previous_writer(); /* that pid belongs to another process tree now */
	tracking_forget();        /* and the userfaultfd stayed behind */
	lazy_after_restart((int)ri->lazy);
	wait_threads_out_of_stub();
	if (ri->arena_len)
		sys_munmap((void *)ri->arena_start, ri->arena_len);
	str_copy(ckpt_config.image_path, sizeof ckpt_config.image_path, ri->image_path);
	if (ri->compress) /* `restart --compress`; without it the first run's choice holds */
		ckpt_config.compress = CKPT_BUILT_WITH_LZ4;
	if (!member) { /* a member keeps the root's pid: the tree comes back at its old pids */
		trigger_warning_pid_moved(ckpt_config.pid, ri->new_pid);
		launch_pid_moved(ri->new_pid);
	}
	/* Only 0-2 came from outside this time (none, to a daemon); everything else is the program's. */
	for (int i = 0; i < 64; i++)
		ckpt_config.inherited_fds[i] = 0;
	ckpt_config.inherited_fds[0] = ckpt_config.daemon_root ? 0 : 7;
	stderr_after_restart();
	seccomp_note_base(seccomp_level()); /* the restart's own: the program's never come back */
	namespaces_note_current();        /* the restart's own: the environment's now */
	if (!member && !ckpt_config.daemon_root) /* a daemon has no terminal to follow */
		terminal_after_restart();
	if (!member) {
		status_set(CKPT_STATE_RUNNING, "");
	}
	ri->magic = 0;
	coordinator_release();
}

/* Steps 1-5; returns 1 after a restart, 0 when written (or, with
 * `background`, handed to a writer: *writer is its pid), -1 on failure.
 * In a tree (the root has children) the members write their images while
 * stopped, before the root's capture; in the background the root image,
 * the commit, is then the writer's, and the tree runs on meanwhile. A
 * process mapping shared memory whose bytes the image stores writes in
 * the foreground (mem_kinds.h, mem_shared_object_mapped, says why). */
static int capture_and_write(struct capture *c, const void *uc, uint64_t *size, int keep_running, int *writer,
			     uint64_t started)
{
	ckpt_config.stderr_ours_at_capture = stderr_is_ours(); /* kept in the image, read at restart */
	if (refuse_under_valgrind(c) || scratch_open(c))
		return -1;
	early_protect_settle(c);
	if (lazy_wait()) /* before anything stops (lazy_wait.c) */
		return capture_fail(c, "memory is still loading from the image of a lazy restart (`ckpt restart --lazy`); "
				       "try again once it has", 0);
	if (daemon_refusal(c) || refuse_own_namespaces(c)) /* first: a chroot hides /proc */
		return -1;
	c->hdr->created_ns = now_ns(0 /* CLOCK_REALTIME */);
	c->hdr->image_id = new_image_id();
	int background = keep_running && !mem_shared_object_mapped(c);
	if (background) /* a stop ends the program: nothing to track for */
		tracking_begin(c);
	if (stop_other_threads(c, uc))
		return -1;
	capture_brk(c); /* then smaps, on another core until capture_vmflags (smaps_walk.c) */
	smaps_walk_begin(c->smaps);
	if (capture_pending_signals(c) || tree_begin(c, background) || capture_fds(c) || tree_capture_members(c))
		return -1;
	if (!c->periodic) /* a line into the log file every period says nothing */
		announce_if_stderr_is_a_file();
	refresh_file_offsets(c);
	if (capture_process(c) || capture_regions(c) || capture_region_mempolicies(c))
		return -1;
	if (background) /* while smaps is walked (shared_writer.h) */
		shared_copy_ahead(c);
	if (capture_vmflags(c) || check_unreadable(c))
		return -1;
	untrack_unstable_regions(c);
	if (ckpt_save_context(&own_slot(c)->resume))
		return 1;
	wait_for_previous_writer();
	if (background)
		tracking_protect(c);
	if (background && (*writer = start_background_writer(c, started)) > 0)
		return 0;
	return image_write(c, size, !keep_running);
}

static void checkpoint_handler(int sig, siginfo_t *info, void *uc);

/* In a member (any process of the tree but the root): a plain trigger
 * signal goes to the program's own handler if it has one; otherwise it is
 * ignored, never the default action: a signal to the job's process group
 * reaches the root as well, which checkpoints the whole tree. Once the
 * root has exited, it makes this process a root (daemon_root.c). */
static void member_handler(int sig, siginfo_t *info, void *uc)
{
	if (tree_request(info)) {
		if (tree_member_checkpoint(info, uc) == 1)
			after_restart(1);
		note_interrupted_wait(uc);
		return;
	}
	if (!trigger_request(info)) {
		run_program_handler(sig, info, uc);
	} else if (launch_root_exited()) {
		/* The launched program exited and left this one running (a
		 * daemon's fork): it is the root of its own checkpoint now. */
		daemon_adopt();
		checkpoint_handler(sig, info, uc);
	}
}

static void take_checkpoint(int request, siginfo_t *info, void *uc);

static void checkpoint_handler(int sig, siginfo_t *info, void *uc)
{
	if (sys_getpid() != ckpt_config.pid) {
		member_handler(sig, info, uc);
		return;
	}
	int request = early_protect_request(info);
	if (!request)
		request = trigger_request(info);
	if (!request) {
		run_program_handler(sig, info, uc);
		return;
	}
	take_checkpoint(request, info, uc);
	note_interrupted_wait(uc); /* after a --continue, a refusal or a restart alike */
}

static void take_checkpoint(int request, siginfo_t *info, void *uc)
{
	if (coordinator_begin())
		return;
	/* A periodic request (--interval) while the last one's image is still
	 * being written skips its turn: no pile-up, and no stop to wait. */
	if (request == 3 && previous_writer_running()) {
		coordinator_release();
		return;
	}
	/* Its scratch, and its handoff page, must be gone before anything reads the memory map. */
	if (shared_scratch_out() || writer_watched())
		wait_for_previous_writer();
	if (request == 3)
		ckpt_config.keep = requested_keep(info);
	int keep_running = ckpt_config.keep_running || request >= 2;
	/* Incremental: the written pages are protected again while the program runs (early_protect.c). */
	if (keep_running && early_protect_start(request, info)) {
		coordinator_release();
		return;
	}
	uint64_t stop_signal = 1ull << (CKPT_THREAD_SIGNAL - 1);
	sys_rt_sigprocmask(SIG_BLOCK, &stop_signal, 0);
	struct capture c = {.periodic = request == 3};
	uint64_t size = 0, started = now_ns(1 /* CLOCK_MONOTONIC */);
	sys_rt_sigpending(&ckpt_config.sigs_pending_at_entry);
	status_set(CKPT_STATE_WRITING, "");
	int writer = 0;
	int rc = capture_and_write(&c, uc, &size, keep_running, &writer, started);
	if (rc == 1) {
		after_restart(0);
		return;
	}
	tree_end(&c, rc == 0, !keep_running);
	const uint64_t memory_bytes = writer > 0 ? 0 : memory_in_pages(&c); /* the tables go with the scratch */
	scratch_close(&c);
	if (c.scratch_handed) /* nothing here reads it any more */
		shared_scratch_let_go();
	if (rc == 0 && writer > 0) {
		struct line w = {.len = 0};
		line_str(&w, CKPT_STATUS_WRITER);
		line_u64(&w, (uint64_t)writer);
		status_set(CKPT_STATE_WRITING, w.buf);
		report_capture_handed_over(&c);
		coordinator_release();
		return;
	}
	if (rc == 0 && !keep_running && !ckpt_config.daemon_root)
		terminal_restore_launch(); /* first, so our own line is not printed raw */
	report_checkpoint(&c, rc == 0, size, now_ns(1) - started, keep_running);
	if (rc == 0 && !keep_running) {
		status_set(CKPT_STATE_STOPPED, "");
		exit_leaving_teardown(CKPT_EXIT_CHECKPOINTED, memory_bytes);
	}
	status_set(rc == 0 ? CKPT_STATE_WRITTEN : CKPT_STATE_FAILED, rc == 0 ? "" : c.error.buf);
	coordinator_release();
}

int install_checkpoint_handler(void)
{
	/* The stop signal stays deliverable: a thread whose request waits for
	 * another checkpoint to finish can still be stopped by it. */
	return install_handler(ckpt_config.signal, checkpoint_handler, CKPT_THREAD_SIGNAL);
}
