/**
 * The image format's thread record, mirrored from c/ckpt_format_thread.h
 * (see format.ts, which re-exports everything here): one per thread,
 * thread 0 first, with its registers, scheduling and credentials.
 */
import { f, layout } from "./format-layout.ts";

export const CKPT_AFFINITY_BYTES = 128;
export const CKPT_THREAD_COORDINATOR = 1 << 0;
export const CKPT_SCHED_RESET_ON_FORK = 0x40000000;
export const CKPT_SCHED_DEADLINE = 6;
export const CKPT_SECUREBITS_KNOWN = 0xfff; // up to SECBIT_EXEC_DENY_INTERACTIVE_LOCKED (Linux 6.14)
export const CKPT_MEMPOLICY_MODE_MAX = 6; // MPOL_WEIGHTED_INTERLEAVE (Linux 6.9)
export const CKPT_MEMPOLICY_FLAGS = 0xe000; // MPOL_F_STATIC_NODES, RELATIVE_NODES, NUMA_BALANCING
export const CKPT_TSC_ENABLE = 1;
export const CKPT_TSC_SIGSEGV = 2;
export const CKPT_MCE_KILL_LATE = 0;
export const CKPT_MCE_KILL_DEFAULT = 2;
export const CKPT_LIBC_GLIBC = 1;
export const CKPT_LIBC_MUSL = 2;
export const CKPT_LIBC_MAX = CKPT_LIBC_MUSL;
export const CKPT_MUSL_TID_OFFSET = 48;

export const THREAD_C_CONSTANTS: Readonly<Record<string, number>> = {
	CKPT_AFFINITY_BYTES, CKPT_THREAD_COORDINATOR, CKPT_SCHED_RESET_ON_FORK, CKPT_SCHED_DEADLINE, CKPT_SECUREBITS_KNOWN,
	CKPT_MEMPOLICY_MODE_MAX, CKPT_MEMPOLICY_FLAGS, CKPT_TSC_ENABLE, CKPT_TSC_SIGSEGV, CKPT_MCE_KILL_LATE, CKPT_MCE_KILL_DEFAULT,
	CKPT_LIBC_GLIBC, CKPT_LIBC_MUSL, CKPT_LIBC_MAX, CKPT_MUSL_TID_OFFSET,
};

export const RESUME_CTX = layout("ckpt_resume_ctx", 72, {
	rbx: f(0, "u64"), rbp: f(8, "u64"), r12: f(16, "u64"), r13: f(24, "u64"),
	r14: f(32, "u64"), r15: f(40, "u64"), rsp: f(48, "u64"), rip: f(56, "u64"),
	mxcsr: f(64, "u32"), fpu_cw: f(68, "u16"), pad: f(70, "u16"),
});

/** A thread's credentials (version 11): uid and gid are real, effective, saved, filesystem. */
export const CREDS = layout("ckpt_creds", 80, {
	uid: f(0, "u32", 4),
	gid: f(16, "u32", 4),
	cap_effective: f(32, "u64"), cap_permitted: f(40, "u64"), cap_inheritable: f(48, "u64"),
	cap_bounding: f(56, "u64"), cap_ambient: f(64, "u64"),
	securebits: f(72, "u32"),
	pad: f(76, "u32"),
});

export const THREAD = layout("ckpt_thread", 448, {
	tid: f(0, "i32"),
	flags: f(4, "u32"),
	fs_base: f(8, "u64"),
	clear_child_tid: f(16, "u64"),
	robust_list: f(24, "u64"),
	robust_len: f(32, "u64"),
	rseq_addr: f(40, "u64"),
	rseq_len: f(48, "u32"),
	rseq_sig: f(52, "u32"),
	handler_sigmask: f(56, "u64"),
	altstack_sp: f(64, "u64"),
	altstack_size: f(72, "u64"),
	altstack_flags: f(80, "i32"),
	pdeath_signal: f(84, "u32"), // version 10: PR_GET_PDEATHSIG, 0 for none
	user_rip: f(88, "u64"),
	user_rsp: f(96, "u64"),
	resume: f(104, RESUME_CTX),
	affinity: f(176, "u8", CKPT_AFFINITY_BYTES), // version 8: CPU n is bit n % 8 of byte n / 8
	// version 10, its scheduling: policy SCHED_* | CKPT_SCHED_RESET_ON_FORK, ioprio class << 13 | level
	nice: f(304, "i32"), sched_policy: f(308, "u32"), sched_priority: f(312, "u32"), ioprio: f(316, "u32"), timer_slack_ns: f(320, "u64"),
	creds: f(328, CREDS), // version 11
	comm: f(408, "char", 16), // version 11: PR_GET_NAME, NUL-terminated
	// version 11, its NUMA memory policy: get_mempolicy's mode | CKPT_MEMPOLICY_FLAGS, bit n of the nodes node n
	mempolicy: f(424, "u32"), pad_mempolicy: f(428, "u32"), mempolicy_nodes: f(432, "u64"),
	// version 13, set with prctl: PR_GET_TSC (CKPT_TSC_*), PR_MCE_KILL_GET (CKPT_MCE_KILL_*)
	tsc_mode: f(440, "u32"), mce_kill: f(444, "u32"),
});
