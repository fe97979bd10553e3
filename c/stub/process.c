/*
 * Phase 2, the rest of the process, then the jump back into the program.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <asm/prctl.h>
#include <linux/prctl.h>
#include "stub.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

static void restore_mm(void)
{
	const struct ckpt_header *h = restart.hdr;
	struct prctl_mm_map map = {
		.start_code = h->mm.start_code, .end_code = h->mm.end_code,
		.start_data = h->mm.start_data, .end_data = h->mm.end_data,
		.start_brk = h->mm.start_brk, .brk = h->mm.brk, .start_stack = h->mm.start_stack,
		.arg_start = h->mm.arg_start, .arg_end = h->mm.arg_end,
		.env_start = h->mm.env_start, .env_end = h->mm.env_end,
		.auxv = (__u64 *)h->auxv, .auxv_size = h->auxv_words * 8, .exe_fd = (uint32_t)-1,
	};
	long err = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0);
	if (err < 0)
		die("cannot restore the program break and memory layout (prctl PR_SET_MM_MAP)", err);
	sys_prctl(PR_SET_NAME, (unsigned long)h->comm, 0, 0, 0);
}

static void restore_dispositions(void)
{
	const struct ckpt_header *h = restart.hdr;
	for (int sig = 1; sig <= CKPT_MAX_SIGNALS; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sys_rt_sigaction(sig, &h->sigactions[sig - 1], 0);
}

static void restore_terminals(void)
{
	/* The modes found here are the shell's: libckpt puts them back if the
	 * program stops again, so the shell is not left in raw mode. */
	for (int fd = 0; fd < 3; fd++) {
		const struct ckpt_termios *t = &restart.hdr->termios[fd];
		struct ckpt_termios *now = &restart.shell_termios[fd];
		now->valid = sys_ioctl(fd, 0x5401 /* TCGETS */, now) == 0;
		if (t->valid && now->valid)
			sys_ioctl(fd, 0x5402 /* TCSETS */, (void *)t);
	}
	fd_tty_restore_modes(restart.fds, restart.hdr->nfds);
}

void restore_process_state(void)
{
	restore_mm();
	restore_dispositions();
	const char *cwd = string_at(restart.strings, restart.hdr->cwd_str);
	long err = sys_chdir(cwd);
	if (err < 0)
		die_path("cannot change to the saved working directory", cwd, err);
	restore_terminals();
	long personality = SYS1(__NR_personality, restart.hdr->personality); /* threads cloned after inherit it */
	if (personality < 0)
		die("cannot set the program's personality again", personality);
	/* Last: every region has its protection, and nothing here gains PROT_EXEC any more. */
	err = restart.hdr->mdwe ? sys_prctl(CKPT_PR_SET_MDWE, restart.hdr->mdwe, 0, 0, 0) : 0;
	if (err < 0)
		die("cannot set memory-deny-write-execute again", err);
}

/* Tells libckpt, in its restored memory, what just happened. */
static void fill_restart_info(void)
{
	struct ckpt_restart_info *ri = (void *)restart.hdr->restart_info_addr;
	ri->arena_start = restart.arena_start;
	ri->arena_len = restart.arena_len;
	ri->new_pid = (int32_t)sys_getpid();
	ri->threads_in_stub = (int32_t)restart.hdr->nthreads;
	str_copy(ri->image_path, sizeof ri->image_path, restart.next_image);
	for (int fd = 0; fd < 3; fd++)
		ri->shell_termios[fd] = restart.shell_termios[fd];
	ri->compress = (uint32_t)restart.compress;
	ri->lazy = (uint32_t)restart.lazy;
	ri->magic = CKPT_RESTART_INFO_MAGIC;
}

/* Both set whatever they were: the restart's own may differ from the
 * default. Nothing in the stub reads the time-stamp counter after this. */
static void restore_prctl_modes(const struct ckpt_thread *t)
{
	long err = sys_prctl(PR_SET_TSC, t->tsc_mode, 0, 0, 0);
	if (err >= 0)
		err = t->mce_kill == CKPT_MCE_KILL_DEFAULT ? sys_prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0)
							     : sys_prctl(PR_MCE_KILL, PR_MCE_KILL_SET, t->mce_kill, 0, 0);
	if (err < 0)
		die("cannot set a thread's time-stamp counter mode or machine-check policy again", err);
}

/* State of one thread the kernel holds, set by the thread itself. The fs
 * base and tid address of cloned threads come from clone() itself. */
static void restore_thread_state(const struct ckpt_thread *t)
{
	if (t->robust_list)
		sys_set_robust_list((void *)t->robust_list, t->robust_len);
	if (t->rseq_addr) {
		long err = sys_rseq((void *)t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
		if (err < 0)
			die("cannot register a thread's rseq area again", err);
	}
	if (t->altstack_sp) {
		struct { uint64_t sp; int32_t flags; uint32_t pad; uint64_t size; } ss = {
			t->altstack_sp, t->altstack_flags & ~1 /* SS_ONSTACK is state, not a flag */, 0, t->altstack_size};
		sys_sigaltstack(&ss, 0);
	}
	/* Sent when this process's parent ends: the member of a tree that
	 * created it, else the stand-in or init that did (they outlive it), or
	 * with --new-pid the process that ran the restart. */
	long err = t->pdeath_signal ? sys_prctl(PR_SET_PDEATHSIG, t->pdeath_signal, 0, 0, 0) : 0;
	if (err < 0)
		die("cannot set a thread's parent-death signal again", err);
	restore_scheduling(t);
	restore_prctl_modes(t);
	sys_prctl(PR_SET_NAME, (unsigned long)t->comm, 0, 0, 0); /* its own: a clone takes its creator's */
	restore_mempolicy(t);
	sys_rt_sigprocmask(2 /* SIG_SETMASK */, &t->handler_sigmask, 0);
	restore_affinity(t); /* the loaders and the clones before it ran on every CPU allowed */
	/* Last: until here the restart's own rights held (a thread created in a
	 * new user namespace has every capability in it; an unprivileged
	 * program had none). */
	restore_credentials(t);
}

static void cloned_thread_start(void *arg)
{
	const struct ckpt_thread *t = arg;
	restore_thread_state(t);
	restore_signals((uint32_t)(t - restart.threads));
	jump_to_resume_point(&t->resume);
}

/* The libc keeps each thread's id in its descriptor (ckpt_tid_word: for
 * glibc at the address it gave set_tid_address, for musl in its struct
 * pthread). CLONE_PARENT_SETTID writes the new id there; the tid address
 * (PR_GET_TID_ADDRESS at checkpoint: glibc's id word again, musl's
 * thread-list lock) gets CLONE_CHILD_CLEARTID, as the libc's own clone
 * had it, so pthread_join (glibc) and the lock's release at a thread's exit
 * (musl) keep working; the leader (this thread) does the same by hand. So
 * raise(), pthread_kill() and gettid()-based code agree with the kernel. */
static void clone_threads(void)
{
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	for (uint32_t i = 1; i < restart.hdr->nthreads; i++) {
		const struct ckpt_thread *t = &restart.threads[i];
		uint64_t top = restart.thread_stacks + (uint64_t)i * THREAD_STUB_STACK;
		uint64_t *start = (uint64_t *)(top - 16);
		start[0] = (uint64_t)cloned_thread_start;
		start[1] = (uint64_t)t;
		int32_t old_tid = t->tid;
		struct clone3_args a = {
			.flags = flags, .parent_tid = ckpt_tid_word(restart.hdr->libc, t),
			.child_tid = t->clear_child_tid, .tls = t->fs_base,
			.stack = top - THREAD_STUB_STACK, .stack_size = THREAD_STUB_STACK - 16,
			.set_tid = (uint64_t)&old_tid, .set_tid_size = 1,
		};
		/* In a pid namespace the thread gets its old tid back. Outside
		 * one, plain clone: a seccomp filter may refuse clone3 (ENOSYS, as
		 * older container profiles do), and this is past the point of no
		 * return. */
		long tid = restart.namespace != RESTART_NS_NONE
				   ? clone3_thread(&a, sizeof a)
				   : clone_thread(flags, top, (void *)a.parent_tid, (void *)a.child_tid, a.tls,
						  cloned_thread_start, (void *)t);
		if (tid < 0)
			die("cannot create a thread", tid);
	}
}

static void become_leader(const struct ckpt_thread *t)
{
	uint64_t tid_word = ckpt_tid_word(restart.hdr->libc, t);
	if (tid_word)
		*(int32_t *)tid_word = (int32_t)sys_gettid();
	if (t->clear_child_tid)
		sys_set_tid_address((void *)t->clear_child_tid);
	long err = sys_arch_prctl(ARCH_SET_FS, t->fs_base);
	if (err < 0)
		die("cannot restore the thread pointer (%fs base)", err);
}

__attribute__((noreturn)) void resume_threads(void)
{
	const struct ckpt_thread *t = &restart.threads[0];
	tree_phase2_done(); /* every process of a tree this far before any runs, or its timers start */
	fill_restart_info();
	for (int which = 0; which < 3; which++)
		sys_setitimer(which, &restart.hdr->itimers[which], 0);
	sys_close(restart.image_fd);
	for (uint32_t i = 0; i < restart.hdr->nlinks; i++)
		sys_close(restart.link_fd[i]);
	close_direct_reads();
	clone_threads();
	restore_timers();
	fd_timerfd_arm(restart.fds, restart.hdr->nfds);
	fd_inotify_drain(restart.fds, restart.hdr->nfds);
	restore_signals(0);
	restore_limits(restart.hdr); /* the program's own, once the stub's work under the restart's is done */
	become_leader(t);
	restore_thread_state(t);
	/* The last thing that could fail has run (cloned threads could, in
	 * theory, still fail to register rseq: they would exit silently). */
	if (restart.err_fd > 2)
		sys_close(restart.err_fd);
	jump_to_resume_point(&t->resume);
}

__attribute__((noreturn)) void phase2(void)
{
	unmap_all_but_arena_and_vdso();
	move_vdso();
	map_regions();
	restore_process_state();
	resume_threads();
}
