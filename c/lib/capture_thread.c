#define _GNU_SOURCE
/*
 * The state of one thread that is not in its memory: what the kernel keeps
 * per task. The registers of the interrupted code are in the signal frame
 * the kernel pushed on the thread's stack, so they travel with memory.
 */
#include <signal.h>
#include <ucontext.h>
#include <sys/prctl.h>
#include <asm/prctl.h>
#include "ckpt_lib.h"
#include "../sys.h"
#include "../creds.h"
#include "mempolicy.h"

/* glibc >= 2.35 registers an rseq area per thread at the thread pointer +
 * __rseq_offset. Weak, so the library still loads where glibc has none. */
extern const long __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/* glibc 2.36 registers 32 bytes whatever __rseq_size says (20), and the
 * kernel wants at least 32 and the same signature when we register again. */
#define GLIBC_RSEQ_LEN 32
#define GLIBC_RSEQ_SIG 0x53053053

/* What the kernel holds is what counts, not what glibc meant to register:
 * registering an area again is refused with EBUSY exactly when it is this
 * thread's registration with this length and signature (EINVAL: another
 * area or length; EPERM: another signature). A success means the thread
 * had none (glibc.pthread.rseq=0, or no glibc rseq at all): it is undone.
 * glibc 2.35-2.39 registers 32 bytes; later ones __rseq_size, if larger.
 * `area` is 0 without glibc's: a probe on the stack then tells "none" from
 * "the program registered its own", which cannot be read back unprivileged. */
static void capture_rseq(struct ckpt_thread *t, uint64_t area)
{
	uint32_t size = &__rseq_size ? (__rseq_size + 31) & ~31u : 0;
	uint32_t lens[2] = {GLIBC_RSEQ_LEN, size > GLIBC_RSEQ_LEN ? size : GLIBC_RSEQ_LEN};
	struct { _Alignas(32) char bytes[32]; } probe = {{0}};
	if (!area)
		area = (uint64_t)&probe;
	for (int i = 0; i < 2; i++) {
		long rc = sys_rseq((void *)area, lens[i], 0, GLIBC_RSEQ_SIG);
		if (rc == -16 /* EBUSY */ && area != (uint64_t)&probe) {
			t->rseq_addr = area;
			t->rseq_len = lens[i];
			t->rseq_sig = GLIBC_RSEQ_SIG;
			return;
		}
		if (rc == 0) {
			sys_rseq((void *)area, lens[i], 1 /* RSEQ_FLAG_UNREGISTER */, GLIBC_RSEQ_SIG);
			return;
		}
	}
	t->rseq_len = CKPT_UNKNOWN; /* registered, but not as glibc does: refused by the coordinator */
}

/* Each of these is the thread's own (setpriority, sched_setscheduler and
 * ioprio_set on tid 0 change the calling thread only); a new thread
 * starts with its creator's. getpriority answers 20 - nice. */
static void capture_scheduling(struct ckpt_thread *t)
{
	t->nice = 20 - (int32_t)SYS2(__NR_getpriority, 0 /* PRIO_PROCESS */, 0);
	t->sched_policy = (uint32_t)SYS1(__NR_sched_getscheduler, 0);
	int32_t param[1] = {0};
	SYS2(__NR_sched_getparam, 0, param);
	t->sched_priority = (uint32_t)param[0];
	t->ioprio = (uint32_t)SYS2(__NR_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
	t->timer_slack_ns = (uint64_t)sys_prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
}

/* Two more of the thread's own, which clone copies: whether rdtsc faults
 * (rr turns it off in the programs it records), and the machine-check kill
 * policy. A kernel that answers neither gets the defaults. */
static void capture_prctl_modes(struct ckpt_thread *t)
{
	int tsc = 0;
	t->tsc_mode = sys_prctl(PR_GET_TSC, (unsigned long)&tsc, 0, 0, 0) == 0 && tsc == PR_TSC_SIGSEGV ? CKPT_TSC_SIGSEGV
												     : CKPT_TSC_ENABLE;
	long mce = sys_prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
	t->mce_kill = mce >= 0 && mce <= (long)CKPT_MCE_KILL_DEFAULT ? (uint32_t)mce : CKPT_MCE_KILL_DEFAULT;
}

void capture_thread(struct ckpt_thread *t, const void *ucontext)
{
	const ucontext_t *uc = ucontext;
	unsigned long fs = 0, tid_addr = 0;
	size_t robust_len = 0;
	void *robust = 0;
	stack_t alt = {0};

	t->tid = (int32_t)sys_gettid();
	sys_arch_prctl(ARCH_GET_FS, (unsigned long)&fs);
	t->fs_base = fs;
	sys_prctl(PR_GET_TID_ADDRESS, (unsigned long)&tid_addr, 0, 0, 0);
	t->clear_child_tid = tid_addr;
	if (sys_get_robust_list(&robust, &robust_len) == 0) {
		t->robust_list = (uint64_t)robust;
		t->robust_len = robust_len;
	}
	capture_rseq(t, &__rseq_offset ? fs + (uint64_t)__rseq_offset : 0);
	sys_rt_sigprocmask(SIG_BLOCK, 0, &t->handler_sigmask);
	sys_sigaltstack(0, &alt);
	t->altstack_sp = (uint64_t)alt.ss_sp;
	t->altstack_size = alt.ss_size;
	t->altstack_flags = alt.ss_flags;
	int pdeath = 0; /* the thread's own: clone clears it, even for threads */
	sys_prctl(PR_GET_PDEATHSIG, (unsigned long)&pdeath, 0, 0, 0);
	t->pdeath_signal = (uint32_t)pdeath;
	capture_scheduling(t);
	capture_prctl_modes(t);
	creds_read(&t->creds); /* capget of the calling thread cannot fail */
	sys_prctl(PR_GET_NAME, (unsigned long)t->comm, 0, 0, 0);
	capture_thread_mempolicy(t);
	/* Left empty when the kernel's mask is wider than the image's (more than
	 * 1024 CPUs): no thread runs on no CPU, so the coordinator refuses it. */
	for (int i = 0; i < CKPT_AFFINITY_BYTES; i++)
		t->affinity[i] = 0;
	sys_sched_getaffinity(0, CKPT_AFFINITY_BYTES, t->affinity);
	t->user_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	t->user_rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
	note_registered_rings();
}
