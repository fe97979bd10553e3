/**
 * What `ckpt info` and `ckpt info --json` both say about an image's
 * records, computed in one place so the table and the JSON cannot
 * disagree. Names of kinds and flags come from kinds.ts. Pure.
 */
import { CKPT_MEMPOLICY_FLAGS, CKPT_REGION_HEAP, CKPT_REGION_SYSV_SHM, CKPT_SCHED_RESET_ON_FORK } from "./format.ts";
import { sysvSegmentText } from "./sysv-shm.ts";
import { EXTENT_KINDS, LOCK_KINDS, REGION_KINDS, VM_FLAGS } from "./kinds.ts";
import type { Fd, Lock, PendingSignal, Region, Thread } from "./types.ts";
import { hex } from "../cli/text.ts";

/** A lock's type and inclusive byte range, and its kind as --json names it. */
export function lockFacts(l: Lock) {
	return { kind: LOCK_KINDS.of(l.kind)!.json, type: l.write ? "write" : "read", start: Number(l.start), end: l.len === 0n ? null : Number(l.start + l.len - 1n) };
}

const POLICIES: Record<number, string> = { 0: "other", 1: "fifo", 2: "rr", 3: "batch", 5: "idle" };
const IO_CLASSES = ["none", "real-time", "best-effort", "idle"];

/** How a thread is scheduled, as --json shows it: policy by its sched(7) name without SCHED_. */
export function schedulingFacts(t: Thread) {
	return {
		nice: t.nice, policy: POLICIES[t.schedPolicy & ~CKPT_SCHED_RESET_ON_FORK] ?? "?", priority: t.schedPriority,
		resetOnFork: (t.schedPolicy & CKPT_SCHED_RESET_ON_FORK) !== 0,
		ioClass: IO_CLASSES[t.ioprio >>> 13] ?? "?", ioLevel: t.ioprio & 7, timerSlackNs: Number(t.timerSlackNs),
	};
}

/** The same in words, what differs from a thread nobody tuned ("nice 5, idle, I/O idle"); "" when nothing does. */
export function schedulingText(t: Thread): string {
	const s = schedulingFacts(t);
	return [s.nice ? `nice ${s.nice}` : "", s.policy !== "other" ? `${s.policy}${s.priority ? ` ${s.priority}` : ""}` : "",
		s.ioClass !== "none" ? `I/O ${s.ioClass}${s.ioClass === "idle" ? "" : ` ${s.ioLevel}`}` : ""].filter(Boolean).join(", ");
}

/** A thread's credentials as --json shows them: ids by role, capability sets as hex masks (bit n: capability n). */
export function credentialFacts({ creds: c }: Thread) {
	const ids = (v: number[]) => ({ real: v[0], effective: v[1], saved: v[2], filesystem: v[3] });
	return {
		uids: ids(c.uids), gids: ids(c.gids),
		capabilities: { effective: hex(c.effective), permitted: hex(c.permitted), inheritable: hex(c.inheritable), bounding: hex(c.bounding), ambient: hex(c.ambient) },
		securebits: c.securebits,
	};
}

/** The first thread's credentials in one line ("uid 1000, gid 1000, no capabilities; bounding 0x1ffffffffff"), and whether others differ. */
export function credentialsText(threads: readonly Thread[]): string {
	if (!threads.length) return "none recorded";
	const c = threads[0]!.creds;
	const ids = (name: string, v: number[]) => (v.every((x) => x === v[0]) ? `${name} ${v[0]}` : `${name}s ${v.join("/")} (real/effective/saved/fs)`);
	const caps = c.permitted === 0n ? "no capabilities" : `capabilities ${hex(c.effective)} effective, ${hex(c.permitted)} permitted`;
	const extra = [c.inheritable ? `inheritable ${hex(c.inheritable)}` : "", c.ambient ? `ambient ${hex(c.ambient)}` : "",
		c.securebits ? `securebits ${hex(BigInt(c.securebits))}` : ""].filter(Boolean);
	const same = threads.every((t) => JSON.stringify(credentialFacts(t)) === JSON.stringify(credentialFacts(threads[0]!)));
	return [ids("uid", c.uids), ids("gid", c.gids), caps, `bounding ${hex(c.bounding)}`, ...extra].join(", ") + (same ? "" : "; other threads differ (--json)");
}

const MEMPOLICY_MODES = ["default", "preferred", "bind", "interleave", "local", "preferred-many", "weighted-interleave"];
const MEMPOLICY_FLAGS: [number, string][] = [[0x8000, "static-nodes"], [0x4000, "relative-nodes"], [0x2000, "numa-balancing"]];

/** A thread's or region's NUMA memory policy as --json shows it: the mode by its MPOL_ name, its flags, its nodes. */
export function mempolicyFacts(t: { mempolicy: number; mempolicyNodes: bigint }) {
	const nodes: number[] = [];
	for (let n = 0; n < 64; n++) if ((t.mempolicyNodes >> BigInt(n)) & 1n) nodes.push(n);
	return { mode: MEMPOLICY_MODES[t.mempolicy & ~CKPT_MEMPOLICY_FLAGS] ?? "?", flags: MEMPOLICY_FLAGS.filter(([b]) => t.mempolicy & b).map(([, n]) => n), nodes };
}

/** The same in words ("interleave on 0,1"); "" for the default. */
export function mempolicyText(t: { mempolicy: number; mempolicyNodes: bigint }): string {
	const p = mempolicyFacts(t);
	return p.mode === "default" ? "" : [p.mode, ...p.flags].join(" ") + (p.nodes.length ? ` on ${p.nodes.join(",")}` : "");
}

/** PR_GET_DUMPABLE in words. */
export function dumpableText(v: number): string {
	return v === 1 ? "yes" : v === 0 ? "no (PR_SET_DUMPABLE 0: no core dumps, not traceable by its user)" : "suidsafe (2, after an id change)";
}

const PERSONALITY_FLAGS: [number, string][] = [
	[0x0020000, "UNAME26"], [0x0040000, "ADDR_NO_RANDOMIZE"], [0x0080000, "FDPIC_FUNCPTRS"], [0x0100000, "MMAP_PAGE_ZERO"],
	[0x0200000, "ADDR_COMPAT_LAYOUT"], [0x0400000, "READ_IMPLIES_EXEC"], [0x0800000, "ADDR_LIMIT_32BIT"],
	[0x1000000, "SHORT_INODE"], [0x2000000, "WHOLE_SECONDS"], [0x4000000, "STICKY_TIMEOUTS"], [0x8000000, "ADDR_LIMIT_3GB"],
];

/** personality(2) as setarch names it: "linux", or "linux, ADDR_NO_RANDOMIZE" ("0x8 ..." for another domain). */
export function personalityText(v: number): string {
	const domain = v & 0xff;
	const flags = PERSONALITY_FLAGS.filter(([bit]) => v & bit).map(([, name]) => name);
	const known = PERSONALITY_FLAGS.reduce((m, [bit]) => m | bit, 0xff);
	const rest = v & ~known;
	return [domain === 0 ? "linux" : `domain ${hex(BigInt(domain))}`, ...flags, ...(rest ? [hex(BigInt(rest))] : [])].join(", ");
}

export function perms(r: Region): string {
	const shared = REGION_KINDS.of(r.kind)?.shared ?? false;
	return (r.prot & 1 ? "r" : "-") + (r.prot & 2 ? "w" : "-") + (r.prot & 4 ? "x" : "-") + (shared ? "s" : "p");
}

export function regionName(r: Region): string {
	if (r.kind === CKPT_REGION_SYSV_SHM) return `${r.path} ${sysvSegmentText(r)}`;
	if (r.path) return r.path;
	if (r.flags & CKPT_REGION_HEAP) return "[heap]";
	return REGION_KINDS.of(r.kind)?.unnamed ?? "";
}

/** The madvise/mlock/mseal state a region gets back, MAP_NORESERVE, and may-write of a shared file, by name. */
export function vmFlagNames(r: Region): string[] {
	const names: string[] = [];
	for (const f of VM_FLAGS) if (f.name !== null && (r.vmFlags & f.bit) !== 0) names.push(f.name);
	return names;
}

/**
 * A region's bytes by how they come back, keyed by each extent kind's
 * JSON name in table order: stored in the image (data), fresh zero pages
 * (zero), mapped again from its file (file), guard pages installed again
 * (guard). Every kind is present, 0 when the region has none.
 */
export function storage(r: Region): Record<string, number> {
	const s: Record<string, number> = {};
	for (const k of EXTENT_KINDS.rows) s[k.json] = 0;
	for (const e of r.extents) {
		const k = EXTENT_KINDS.of(e.kind);
		if (k) s[k.json] = s[k.json]! + e.len;
	}
	return s;
}

/**
 * Bytes the memory data of `regions` takes in this image's file: compressed,
 * if the image is (version 5). Only what the image holds itself: an
 * incremental image's PARENT extents are older images' bytes.
 */
export function storedLength(regions: readonly Region[]): number {
	return regions.reduce((n, r) => r.extents.reduce((m, e) => (EXTENT_KINDS.of(e.kind)?.inImage ? m + e.storedLen : m), n), 0);
}

/** Of a storage() record, the bytes the image itself holds. */
export function bytesInImage(stored: Record<string, number>): number {
	let n = 0;
	for (const k of EXTENT_KINDS.rows) if (k.inImage) n += stored[k.json]!;
	return n;
}

/** Whom an O_ASYNC descriptor's signal goes to, by CKPT_ASYNC_* value. */
const ASYNC_OWNERS = ["", "nobody", "itself", "its group", "the tree's root"];

/** F_GETFL / F_GETFD bits as "O_WRONLY|O_APPEND|cloexec". */
export function fdFlags(f: Fd): string {
	const acc = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE?"][f.openFlags & 3]!;
	const names: [number, string][] = [
		[0o2000, "O_APPEND"], [0o4000, "O_NONBLOCK"], [0o10000, "O_DSYNC"], [0o40000, "O_DIRECT"],
		[0o400000, "O_NOFOLLOW"], [0o1000000, "O_NOATIME"], [0o10000000, "O_PATH"], [0o4010000, "O_SYNC"],
	];
	const parts = [acc, ...names.filter(([bit]) => (f.openFlags & bit) === bit).map(([, n]) => n)];
	if (f.async) parts.push(`O_ASYNC(${f.async.signal === 0 ? "SIGIO" : `signal ${f.async.signal}`} to ${ASYNC_OWNERS[f.async.owner]})`);
	if (f.fdFlags & 1) parts.push("cloexec");
	return parts.join("|");
}

const MEMBARRIER_REGISTRATIONS: [number, string][] = [
	[1 << 2, "global-expedited"], [1 << 4, "private-expedited"],
	[1 << 6, "private-expedited-sync-core"], [1 << 8, "private-expedited-rseq"],
];

/** MEMBARRIER_CMD_REGISTER_* bits by name; null when the kernel could not say (before 6.3). */
export function membarrierNames(bits: number | null): string[] | null {
	if (bits === null) return null;
	const known = MEMBARRIER_REGISTRATIONS.filter(([bit]) => bits & bit).map(([, n]) => n);
	const rest = MEMBARRIER_REGISTRATIONS.reduce((b, [bit]) => b & ~bit, bits);
	return rest ? [...known, `0x${rest.toString(16)}`] : known;
}

/** A umask as four octal digits: "0022". */
export function umaskText(v: number): string {
	return v.toString(8).padStart(4, "0");
}

const SI_CODES: Record<number, string> = {
	0: "SI_USER", 128: "SI_KERNEL", [-1]: "SI_QUEUE", [-2]: "SI_TIMER", [-3]: "SI_MESGQ", [-4]: "SI_ASYNCIO",
	[-5]: "SI_SIGIO", [-6]: "SI_TKILL",
};

/** What `ckpt info` and --json say of a pending signal's siginfo: its code by name, sender, value. */
export function pendingSignalFacts(s: PendingSignal): { code: string; sender: string; value: string | null } {
	const code = SI_CODES[s.code] ?? `${s.code}`;
	const hasValue = s.code === -1 || s.code === -2 || s.code === -3;
	const sender = s.code === -2 ? `timer ${s.pid}, overrun ${s.uid}` : s.code === 128 ? "the kernel" : `pid ${s.pid} uid ${s.uid}`;
	return { code, sender, value: hasValue ? hex(s.value) : null };
}
