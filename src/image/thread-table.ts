/**
 * Decoding the thread records of an image's tables (struct ckpt_thread,
 * format-thread.ts): registers, scheduling, CPUs and credentials.
 */
import type { Fields } from "./fields.ts";
import { CKPT_AFFINITY_BYTES, CREDS, RESUME_CTX, THREAD } from "./format-thread.ts";
import type { Creds, Thread } from "./types.ts";

export function decodeThread(t: Fields<keyof typeof THREAD.fields>): Thread {
	const r = t.struct("resume", RESUME_CTX);
	return {
		tid: t.i32("tid"),
		flags: t.u32("flags"),
		fsBase: t.u64("fs_base"),
		clearChildTid: t.u64("clear_child_tid"),
		robustList: t.u64("robust_list"),
		robustLen: t.u64("robust_len"),
		rseqAddr: t.u64("rseq_addr"),
		rseqLen: t.u32("rseq_len"),
		rseqSig: t.u32("rseq_sig"),
		handlerSigmask: t.u64("handler_sigmask"),
		altstackSp: t.u64("altstack_sp"),
		altstackSize: t.u64("altstack_size"),
		altstackFlags: t.i32("altstack_flags"),
		pdeathSignal: t.u32("pdeath_signal"),
		nice: t.i32("nice"),
		schedPolicy: t.u32("sched_policy"),
		schedPriority: t.u32("sched_priority"),
		ioprio: t.u32("ioprio"),
		timerSlackNs: t.u64("timer_slack_ns"),
		userRip: t.u64("user_rip"),
		userRsp: t.u64("user_rsp"),
		resume: {
			rbx: r.u64("rbx"), rbp: r.u64("rbp"), r12: r.u64("r12"), r13: r.u64("r13"),
			r14: r.u64("r14"), r15: r.u64("r15"), rsp: r.u64("rsp"), rip: r.u64("rip"),
			mxcsr: r.u32("mxcsr"), fpuCw: r.u16("fpu_cw"),
		},
		cpus: affinityCpus(t),
		creds: decodeCreds(t.struct("creds", CREDS)),
		name: t.chars("comm"),
		nameTerminated: t.terminated("comm"),
		mempolicy: t.u32("mempolicy"), padMempolicy: t.u32("pad_mempolicy"), mempolicyNodes: t.u64("mempolicy_nodes"),
		tscMode: t.u32("tsc_mode"), mceKill: t.u32("mce_kill"),
	};
}

function decodeCreds(c: Fields<keyof typeof CREDS.fields>): Creds {
	return {
		uids: [0, 1, 2, 3].map((i) => c.u32("uid", i)), gids: [0, 1, 2, 3].map((i) => c.u32("gid", i)),
		effective: c.u64("cap_effective"), permitted: c.u64("cap_permitted"), inheritable: c.u64("cap_inheritable"),
		bounding: c.u64("cap_bounding"), ambient: c.u64("cap_ambient"), securebits: c.u32("securebits"), pad: c.u32("pad"),
	};
}

/** CPU n is bit n % 8 of byte n / 8, the kernel's order. */
function affinityCpus(t: Fields<keyof typeof THREAD.fields>): number[] {
	const cpus: number[] = [];
	for (let byte = 0; byte < CKPT_AFFINITY_BYTES; byte++)
		for (let bit = 0, v = t.u8("affinity", byte); v >> bit; bit++) if ((v >> bit) & 1) cpus.push(byte * 8 + bit);
	return cpus;
}
