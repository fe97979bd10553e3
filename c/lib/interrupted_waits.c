/*
 * A checkpoint is a handled signal, and a handled signal ends `poll`,
 * `select`, `epoll_wait`, `nanosleep`, `pause`, `sigsuspend` and their
 * kin with EINTR, SA_RESTART or not: the kernel restarts them only when
 * no handler runs. A program with no handler of its own never expects
 * EINTR there, and some give up on it: `tail -f` ended with "error
 * waiting for inotify and output events: Interrupted system call" at each
 * checkpoint and after each restart. So libckpt's wrappers of these calls
 * (restarted_waits.c, sigmask_waits.c) call again, with the time left,
 * when the checkpoint's signal alone ended the call.
 *
 * How a wrapper knows. Each of libckpt's handlers, as it returns, looks at
 * the context it returns to (note_interrupted_wait): a `syscall`
 * instruction just before the resume address and -EINTR in rax mean the
 * signal ended a system call there. It notes the thread, that call's stack
 * pointer and a sequence number. A wrapper whose call failed with EINTR
 * takes it as the checkpoint's doing when this thread has a note made
 * since the call began, for a stack pointer just below the wrapper's own
 * frame (the call's syscall, not one made by a handler of the program's
 * running on top, whose signal frame alone is larger than the window).
 *
 * The program's own signals still end the call. Ours run with every
 * signal blocked, so a program's signal that arrives meanwhile is
 * delivered the moment ours returns, into the same EINTR: the note is not
 * made when one is pending and has a handler. One that arrives in the
 * microseconds between that look and the return is still missed; the
 * call then goes on until its next event or its timeout.
 *
 * Notes live in a table by thread id (no TLS: a thread a runtime made
 * without libc may have none), one word pair a slot; a thread whose slot
 * another took at the same checkpoint gets EINTR, as before this.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <ucontext.h>
#include "ckpt_lib.h"
#include "interrupted_waits.h"
#include "../sys.h"

#define NOTES 1024
#define WINDOW 1024 /* bytes below a wrapper's frame its call's syscall runs in */
#define ADDRESS_BITS 48
#define SYSCALL_INSN 0x050f /* 0f 05, read as a little-endian word */

static struct {
	uint64_t who; /* the stack pointer, the thread id's high bits above it */
	uint64_t seq;
} notes[NOTES];
static uint64_t notes_made;

static uint64_t who(long tid, uint64_t sp)
{
	return sp | (uint64_t)(tid / NOTES) << ADDRESS_BITS;
}

/* A signal of the program's, pending and deliverable once ours returns
 * with `mask`, with a handler to run. */
static int program_signal_waiting(uint64_t mask)
{
	uint64_t pending = 0;
	sys_rt_sigpending(&pending);
	pending &= ~mask & ~(1ull << (CKPT_THREAD_SIGNAL - 1));
	for (int sig = 1; pending; sig++, pending >>= 1) {
		struct ckpt_sigaction act = {0, 0, 0, 0};
		if ((pending & 1) && sys_rt_sigaction(sig, 0, &act) == 0 && act.handler > (uint64_t)SIG_IGN)
			return 1;
	}
	return 0;
}

/* A `syscall` instruction ends just before `rip`. Read by a system call:
 * text may be execute-only (protection keys), where a load would fault. */
static int after_syscall(uint64_t rip)
{
	uint16_t insn = 0;
	struct { const void *base; uint64_t len; } here = {&insn, sizeof insn}, there = {(const void *)(rip - 2), sizeof insn};
	return sys_process_vm_readv((int)sys_getpid(), &here, 1, &there, 1) == sizeof insn && insn == SYSCALL_INSN;
}

void note_interrupted_wait(const void *ucontext)
{
	const ucontext_t *uc = ucontext;
	const uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	if ((int64_t)uc->uc_mcontext.gregs[REG_RAX] != -EINTR || !after_syscall(rip))
		return;
	uint64_t mask;
	__builtin_memcpy(&mask, &uc->uc_sigmask, sizeof mask);
	if (program_signal_waiting(mask))
		return;
	long tid = sys_gettid();
	uint64_t seq = __atomic_add_fetch(&notes_made, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&notes[tid % NOTES].who, who(tid, (uint64_t)uc->uc_mcontext.gregs[REG_RSP]), __ATOMIC_RELAXED);
	__atomic_store_n(&notes[tid % NOTES].seq, seq, __ATOMIC_RELEASE);
}

void wait_begin(struct wait *w, clockid_t clock)
{
	w->notes_before = __atomic_load_n(&notes_made, __ATOMIC_ACQUIRE);
	w->saved_errno = errno;
	w->clock = clock;
	/* now_ns reads by system call, not the vDSO: the vDSO reads the CPU's
	 * time-stamp counter, and a program that disabled it for itself (prctl
	 * PR_SET_TSC PR_TSC_SIGSEGV, as rr does) got SIGSEGV from a read it never
	 * made: its nanosleep reads no clock. None at all for an untimed call. */
	w->start_ns = clock != NO_TIMEOUT ? now_ns(clock) : 0;
}

int wait_cut_by_checkpoint(struct wait *w, const void *frame)
{
	if (errno != EINTR || __atomic_load_n(&notes_made, __ATOMIC_ACQUIRE) == w->notes_before)
		return 0;
	long tid = sys_gettid();
	uint64_t seq = __atomic_load_n(&notes[tid % NOTES].seq, __ATOMIC_ACQUIRE);
	uint64_t noted = __atomic_load_n(&notes[tid % NOTES].who, __ATOMIC_RELAXED);
	uint64_t sp = noted & ((1ull << ADDRESS_BITS) - 1), top = (uint64_t)frame;
	if (seq <= w->notes_before || noted != who(tid, sp) || sp > top || top - sp > WINDOW)
		return 0;
	w->notes_before = seq; /* the same note never serves twice */
	errno = w->saved_errno;
	return 1;
}

static int64_t waited_ns(const struct wait *w)
{
	/* A restart on another boot may put the clock anywhere: never negative. */
	int64_t d = (int64_t)(now_ns(w->clock) - w->start_ns);
	return d < 0 ? 0 : d;
}

int wait_ms_left(const struct wait *w, int timeout_ms)
{
	if (timeout_ms <= 0)
		return timeout_ms;
	int64_t left = (int64_t)timeout_ms - waited_ns(w) / 1000000;
	return left < 0 ? 0 : (int)left;
}

const struct timespec *wait_time_left(const struct wait *w, const struct timespec *total, struct timespec *left)
{
	if (!total)
		return 0;
	int64_t ns = (int64_t)total->tv_sec * 1000000000 + total->tv_nsec - waited_ns(w);
	if (ns < 0)
		ns = 0;
	left->tv_sec = ns / 1000000000;
	left->tv_nsec = ns % 1000000000;
	return left;
}
