/*
 * ckpt image format, the thread record: part of c/ckpt_format.h (which
 * includes it; include that, never this). Same rules: src/image/
 * format-thread.ts mirrors it field by field, and a change bumps
 * CKPT_VERSION. One record per thread, thread 0 first (struct ckpt_thread).
 */
#ifndef CKPT_FORMAT_THREAD_H
#define CKPT_FORMAT_THREAD_H

#define CKPT_AFFINITY_BYTES 128   /* a thread's CPU mask: 1024 CPUs, as glibc's cpu_set_t */

/* Registers a resumed thread needs: the callee-saved state of the point in
 * the signal handler where capture happened (like setjmp). Everything else,
 * including SSE/AVX state of the interrupted code, is in the kernel's signal
 * frame on the thread's stack and comes back with rt_sigreturn. */
struct ckpt_resume_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	uint32_t mxcsr;
	uint16_t fpu_cw;
	uint16_t pad;
};

/* A thread's credentials, its own in the kernel (glibc's setuid() makes
 * every thread change together; libcap's capset does not). The stub sets
 * them again last of all, in each thread (c/stub/credentials.c). */
struct ckpt_creds {
	uint32_t uid[4];             /* real, effective, saved, filesystem */
	uint32_t gid[4];
	uint64_t cap_effective, cap_permitted, cap_inheritable;
	uint64_t cap_bounding, cap_ambient; /* bit n: capability n */
	uint32_t securebits;         /* PR_GET_SECUREBITS: SECBIT_* and their locks */
	uint32_t pad;
};
#define CKPT_SECUREBITS_KNOWN 0xfffu /* up to SECBIT_EXEC_DENY_INTERACTIVE_LOCKED (Linux 6.14) */

enum ckpt_thread_flags {
	CKPT_THREAD_COORDINATOR = 1 << 0, /* took the checkpoint request */
};

/* Thread 0 is the thread-group leader (tid == pid) when it is alive: the
 * stub's own thread becomes it, the others are cloned. */
struct ckpt_thread {
	int32_t tid;
	uint32_t flags;              /* enum ckpt_thread_flags */
	uint64_t fs_base;
	uint64_t clear_child_tid;   /* PR_GET_TID_ADDRESS: glibc's pd->tid, musl's thread-list lock */
	uint64_t robust_list, robust_len;
	uint64_t rseq_addr;         /* 0: none registered */
	uint32_t rseq_len, rseq_sig;
	uint64_t handler_sigmask;   /* mask while in the handler */
	uint64_t altstack_sp, altstack_size;
	int32_t altstack_flags;
	uint32_t pdeath_signal;      /* version 10: PR_GET_PDEATHSIG, 0 for none */
	uint64_t user_rip, user_rsp; /* the interrupted code, for `ckpt info` */
	struct ckpt_resume_ctx resume;
	/* version 8: sched_getaffinity as the thread saw it (CPU n is bit n % 8
	 * of byte n / 8, the kernel's order); the stub sets it again, or refuses
	 * a restart that may not use one of its CPUs (c/stub/affinity.c) */
	uint8_t affinity[CKPT_AFFINITY_BYTES];
	/* version 10: how the thread is scheduled, its own (c/stub/scheduling.c) */
	int32_t nice;                /* -20 (first) to 19 */
	uint32_t sched_policy;       /* SCHED_OTHER, FIFO, RR, BATCH or IDLE, | CKPT_SCHED_RESET_ON_FORK */
	uint32_t sched_priority;     /* FIFO and RR: 1 to 99; else 0 */
	uint32_t ioprio;             /* ioprio_get: class << 13 | level */
	uint64_t timer_slack_ns;     /* PR_GET_TIMERSLACK */
	struct ckpt_creds creds;     /* version 11 */
	char comm[16];               /* version 11: PR_GET_NAME, the thread's own name (pthread_setname_np) */
	/* version 11: its NUMA memory policy (set_mempolicy; numactl --interleave
	 * or --membind for a launch), set again by the thread (c/stub/mempolicy.c) */
	uint32_t mempolicy;          /* get_mempolicy's mode | MPOL_F_* mode flags; CKPT_UNKNOWN: nodes above 63 */
	uint32_t pad_mempolicy;
	uint64_t mempolicy_nodes;    /* bit n: node n */
	/* version 13: what the thread set with prctl for itself; the stub sets
	 * both again (c/stub/scheduling.c) */
	uint32_t tsc_mode;           /* PR_GET_TSC: CKPT_TSC_ENABLE, or CKPT_TSC_SIGSEGV (rdtsc faults: rr's recordings) */
	uint32_t mce_kill;           /* PR_MCE_KILL_GET: CKPT_MCE_KILL_LATE, _EARLY or _DEFAULT */
};
#define CKPT_TSC_ENABLE 1u    /* PR_TSC_ENABLE */
#define CKPT_TSC_SIGSEGV 2u   /* PR_TSC_SIGSEGV */
#define CKPT_MCE_KILL_LATE 0u /* PR_MCE_KILL_LATE; PR_MCE_KILL_EARLY 1 */
#define CKPT_MCE_KILL_DEFAULT 2u
#define CKPT_MEMPOLICY_MODE_MAX 6 /* MPOL_WEIGHTED_INTERLEAVE (Linux 6.9) */
#define CKPT_MEMPOLICY_FLAGS 0xe000u /* MPOL_F_STATIC_NODES, RELATIVE_NODES, NUMA_BALANCING */
/* A thread's or region's policy as capture writes it: a known mode, and
 * nodes only where the mode names some. */
static inline int ckpt_mempolicy_valid(uint32_t mode, uint32_t pad, uint64_t nodes)
{
	uint32_t base = mode & ~CKPT_MEMPOLICY_FLAGS;
	return base <= CKPT_MEMPOLICY_MODE_MAX && !pad && (base || !nodes);
}
#define CKPT_SCHED_RESET_ON_FORK 0x40000000u
#define CKPT_SCHED_DEADLINE 6u /* refused at checkpoint: sched_setattr needs root and admission */
/* No CPU at all: capture could not read the mask (more than 1024 CPUs), or a corrupt image. */
static inline int ckpt_affinity_empty(const uint8_t *m) { for (int i = 0; i < CKPT_AFFINITY_BYTES; i++) if (m[i]) return 0; return 1; }

/* Which C library the program ran with: it decides where a thread's id
 * lives. glibc keeps it in its descriptor at the address it gave
 * set_tid_address; musl (1.2+) gives every thread the address of its
 * thread-list lock there (the kernel's exit-time clear releases that lock)
 * and keeps the id in its struct pthread, which %fs points at, after self,
 * dtv, prev, next, sysinfo and canary. */
enum ckpt_libc { CKPT_LIBC_GLIBC = 1, CKPT_LIBC_MUSL = 2, CKPT_LIBC_MAX = CKPT_LIBC_MUSL };
#define CKPT_MUSL_TID_OFFSET 48

/* Where the program's libc keeps this thread's id, for the stub to write
 * the new one (0: nowhere known). */
static inline uint64_t ckpt_tid_word(uint32_t libc, const struct ckpt_thread *t)
{
	return libc == CKPT_LIBC_MUSL ? t->fs_base + CKPT_MUSL_TID_OFFSET : t->clear_child_tid;
}

#endif
