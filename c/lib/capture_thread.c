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

/* glibc >= 2.35 registers an rseq area per thread at the thread pointer +
 * __rseq_offset. Weak, so the library still loads where glibc has none. */
extern const long __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/* glibc registers 32 bytes whatever __rseq_size says (20 on 2.36), and the
 * kernel wants at least 32 and the same signature when we register again. */
#define GLIBC_RSEQ_LEN 32
#define GLIBC_RSEQ_SIG 0x53053053

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
	if (&__rseq_size && __rseq_size > 0 && &__rseq_offset) {
		t->rseq_addr = fs + (uint64_t)__rseq_offset;
		t->rseq_len = GLIBC_RSEQ_LEN;
		t->rseq_sig = GLIBC_RSEQ_SIG;
	}
	sys_rt_sigprocmask(SIG_BLOCK, 0, &t->handler_sigmask);
	sys_sigaltstack(0, &alt);
	t->altstack_sp = (uint64_t)alt.ss_sp;
	t->altstack_size = alt.ss_size;
	t->altstack_flags = alt.ss_flags;
	t->user_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	t->user_rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
}
