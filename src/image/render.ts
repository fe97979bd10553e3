/**
 * The text of `ckpt info`: what was checkpointed, when and where, and how
 * each part of memory is stored. Pure: image and clock in, text out.
 */
import {
	CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_EXTENT_GUARD, CKPT_EXTENT_HOLE, CKPT_FD_DELETED, CKPT_FD_FIFO,
	CKPT_FD_FILE, CKPT_FD_INHERIT, CKPT_FD_MEMFD, CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE, CKPT_FD_PROC,
	CKPT_FD_TTY, CKPT_LOCK_FLOCK, CKPT_LOCK_LEASE, CKPT_LOCK_OFD, CKPT_LOCK_POSIX, CKPT_REGION_ANON,
	CKPT_REGION_FILE_PRIVATE, CKPT_REGION_FILE_SHARED, CKPT_REGION_HEAP, CKPT_REGION_SHARED_ANON,
	CKPT_REGION_STACK, CKPT_REGION_UNREAD, CKPT_VM_DONTDUMP, CKPT_VM_DONTFORK, CKPT_VM_HUGEPAGE, CKPT_VM_LOCKED,
	CKPT_VM_LOCKONFAULT, CKPT_VM_MAYWRITE, CKPT_VM_MERGEABLE, CKPT_VM_NOHUGEPAGE, CKPT_VM_NORESERVE,
	CKPT_VM_RANDOM, CKPT_VM_SEALED, CKPT_VM_SEQUENTIAL, CKPT_VM_WIPEONFORK,
} from "./format.ts";
import type { Fd, Image, Lock, PendingSignal, Region, Termios, Timer } from "./types.ts";
import { signalName } from "../process/signals.ts";
import { age, bytes, duration, hex, localTime, shellQuote, table } from "../cli/text.ts";

const REGION_KINDS: Record<number, string> = {
	[CKPT_REGION_ANON]: "anon",
	[CKPT_REGION_STACK]: "stack",
	[CKPT_REGION_FILE_PRIVATE]: "file",
	[CKPT_REGION_FILE_SHARED]: "file shared",
	[CKPT_REGION_SHARED_ANON]: "anon shared",
};

const FD_KINDS: Record<number, string> = {
	[CKPT_FD_FILE]: "file",
	[CKPT_FD_PIPE_READ]: "pipe read",
	[CKPT_FD_PIPE_WRITE]: "pipe write",
	[CKPT_FD_INHERIT]: "inherited",
	[CKPT_FD_TTY]: "terminal",
	[CKPT_FD_PROC]: "proc",
	[CKPT_FD_DELETED]: "deleted",
	[CKPT_FD_MEMFD]: "memfd",
	[CKPT_FD_FIFO]: "fifo",
};

const LOCK_KINDS: Record<number, string> = {
	[CKPT_LOCK_POSIX]: "posix",
	[CKPT_LOCK_OFD]: "ofd",
	[CKPT_LOCK_FLOCK]: "flock",
	[CKPT_LOCK_LEASE]: "lease",
};

/** A lock as `ckpt info` and `--json` name it: kind, type and inclusive byte range. */
export function lockFacts(l: Lock) {
	return { kind: LOCK_KINDS[l.kind]!, type: l.write ? "write" : "read", start: Number(l.start), end: l.len === 0n ? null : Number(l.start + l.len - 1n) };
}

/** Kinds whose file position is restored. */
export function hasOffset(f: Fd): boolean {
	return f.kind === CKPT_FD_FILE || f.kind === CKPT_FD_PROC || f.kind === CKPT_FD_DELETED || f.kind === CKPT_FD_MEMFD;
}

function fdName(f: Fd): string {
	if (f.kind === CKPT_FD_PIPE_READ) return `${f.path || "pipe"} (${bytes(f.pipeLen)} unread)`;
	if (f.kind === CKPT_FD_FIFO && f.pipeLen > 0) return `${f.path} (${bytes(f.pipeLen)} unread)`;
	const stored = f.sharesWith === null ? `${bytes(f.contentLen)} stored` : `as fd ${f.sharesWith}`;
	if (f.kind === CKPT_FD_DELETED) return `${f.path} (deleted, ${stored})`;
	if (f.kind === CKPT_FD_MEMFD) return `memfd:${f.path} (${stored})`;
	if (f.kind === CKPT_FD_TTY) return `${f.path} (reopened as /dev/tty; ${terminalModes(f.termios)})`;
	return f.path;
}

/** The terminal modes a full-screen program changes, as stty names them: "-icanon -echo isig opost". */
export function terminalModes(t: Termios): string {
	const on = (v: number, bit: number, name: string) => (v & bit ? name : `-${name}`);
	return [on(t.lflag, 0o2, "icanon"), on(t.lflag, 0o10, "echo"), on(t.lflag, 0o1, "isig"), on(t.oflag, 0o1, "opost")].join(" ");
}

export function perms(r: Region): string {
	const shared = r.kind === CKPT_REGION_FILE_SHARED || r.kind === CKPT_REGION_SHARED_ANON;
	return (r.prot & 1 ? "r" : "-") + (r.prot & 2 ? "w" : "-") + (r.prot & 4 ? "x" : "-") + (shared ? "s" : "p");
}

export function regionName(r: Region): string {
	if (r.path) return r.path;
	if (r.flags & CKPT_REGION_HEAP) return "[heap]";
	if (r.kind === CKPT_REGION_STACK) return "[stack]";
	return "";
}

const VM_FLAG_NAMES: [number, string][] = [
	[CKPT_VM_MAYWRITE, "maywrite"], [CKPT_VM_LOCKED, "mlock"], [CKPT_VM_LOCKONFAULT, "onfault"],
	[CKPT_VM_DONTFORK, "dontfork"], [CKPT_VM_WIPEONFORK, "wipeonfork"], [CKPT_VM_DONTDUMP, "dontdump"],
	[CKPT_VM_HUGEPAGE, "hugepage"], [CKPT_VM_NOHUGEPAGE, "nohugepage"], [CKPT_VM_MERGEABLE, "mergeable"],
	[CKPT_VM_SEQUENTIAL, "sequential"], [CKPT_VM_RANDOM, "random"], [CKPT_VM_SEALED, "sealed"],
	[CKPT_VM_NORESERVE, "noreserve"],
]; // CKPT_VM_ACCOUNT is not shown: every private region that was ever writable has it

/** The madvise/mlock/mseal state a region gets back, MAP_NORESERVE, and may-write of a shared file, by name. */
export function vmFlagNames(r: Region): string[] {
	return VM_FLAG_NAMES.filter(([bit]) => (r.vmFlags & bit) !== 0).map(([, name]) => name);
}

/** Bytes of a region stored in the image (DATA), left as fresh zero pages (HOLE, shown as ZERO), mapped again from its file (FILE), and guard pages installed again (GUARD). */
export function storage(r: Region): { data: number; hole: number; file: number; guard: number } {
	const s = { data: 0, hole: 0, file: 0, guard: 0 };
	for (const e of r.extents) {
		if (e.kind === CKPT_EXTENT_DATA) s.data += e.len;
		else if (e.kind === CKPT_EXTENT_HOLE) s.hole += e.len;
		else if (e.kind === CKPT_EXTENT_FILE) s.file += e.len;
		else if (e.kind === CKPT_EXTENT_GUARD) s.guard += e.len;
	}
	return s;
}

/** F_GETFL / F_GETFD bits as "O_WRONLY|O_APPEND|cloexec". */
export function fdFlags(f: Fd): string {
	const acc = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE?"][f.openFlags & 3]!;
	const names: [number, string][] = [
		[0o2000, "O_APPEND"], [0o4000, "O_NONBLOCK"], [0o10000, "O_DSYNC"], [0o40000, "O_DIRECT"],
		[0o1000000, "O_NOATIME"], [0o10000000, "O_PATH"], [0o4010000, "O_SYNC"],
	];
	const parts = [acc, ...names.filter(([bit]) => (f.openFlags & bit) === bit).map(([, n]) => n)];
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

/** PR_GET_THP_DISABLE as words. */
export function thpText(v: number): string {
	return v & 1 ? (v & 2 ? "disabled except where madvised" : "disabled") : "allowed";
}

export function umaskText(v: number): string {
	return v.toString(8).padStart(4, "0");
}

const CLOCK_NAMES: Record<number, string> = {
	0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID", 7: "CLOCK_BOOTTIME", 11: "CLOCK_TAI",
	// this process's CPU clocks, as the kernel encodes them for pid 0 (clock_getcpuclockid gives -6)
	[-6]: "process CPU time", [-7]: "process CPU time (user)", [-8]: "process CPU time (user+system, prof)",
};

/** A timer's clock by name: "CLOCK_MONOTONIC", "CPU time of thread 4242 (#1)", or the raw id. */
export function clockName(t: Timer, threads: { tid: number }[]): string {
	if (t.clock < 0 && (t.clock & 3) !== 3 && t.clock & 4)
		return `CPU time of thread ${threads[t.clockThread]?.tid ?? "?"} (#${t.clockThread})`;
	return CLOCK_NAMES[t.clock] ?? `clock ${t.clock}`;
}

/** What a timer does when it expires: "SIGRTMIN+1 (35) value 0x5eed to the process", "... to thread 4242 (#1)", "nothing (SIGEV_NONE)". */
export function timerNotify(t: Timer): string {
	if (t.notify === 1) return "nothing (SIGEV_NONE)";
	// libckpt serves each SIGEV_THREAD timer from a thread of its own, with glibc's SIGTIMER
	if (t.notify === 4 && t.signo === 32) return `calls its function (SIGEV_THREAD) on thread ${t.targetTid} (#${t.targetThread})`;
	const sig = `${signalName(t.signo)} value ${hex(t.value)}`;
	if (t.notify === 4) return `${sig} to thread ${t.targetTid} (#${t.targetThread})`;
	return `${sig} to the process${t.notify === 2 ? " (SIGEV_THREAD)" : ""}`;
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

/** "SIGUSR1 (10) x2, 36 x3": how many of each signal are pending, in signal order. */
export function pendingCounts(signals: PendingSignal[]): string {
	const counts = new Map<number, number>();
	for (const s of signals) counts.set(s.signo, (counts.get(s.signo) ?? 0) + 1);
	return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${signalName(n)} x${c}`).join(", ");
}

function processSettings(image: Image): string[][] {
	const p = image.header.process;
	const mb = membarrierNames(p.membarrier);
	return [
		["umask", umaskText(p.umask)],
		["transparent huge pages", thpText(p.thpDisable)],
		["no_new_privs", p.noNewPrivs ? "set" : "no"],
		["child subreaper", p.childSubreaper ? "yes" : "no"],
		["oom_score_adj", String(p.oomScoreAdj)],
		["membarrier", mb === null ? "unknown (kernel before 6.3)" : mb.length ? mb.join(", ") : "none"],
		["login uid", `${p.loginuid === null ? "unset" : p.loginuid} (must match at restart)`],
		["groups", `${image.groups.length ? image.groups.join(",") : "none"} (must match at restart)`],
		["cgroup", `${image.cgroup.trim().split("\n").join("; ") || "unknown"} (not carried: the restart's own applies)`],
	];
}

export function renderInfo(image: Image, nowMs: number): string {
	const h = image.header;
	const takenMs = Number(h.createdNs / 1_000_000n);
	const out: string[] = [];
	const dataBytes = image.regions.reduce((n, r) => n + storage(r).data, 0);
	const pipeBytes = image.fds.reduce((n, f) => n + f.pipeLen, 0);
	const fileBytes = image.fds.reduce((n, f) => n + f.contentLen, 0);
	const memBytes = image.regions.reduce((n, r) => n + Number(r.end - r.start), 0);

	out.push(table([
		["image", `${image.path} (format version ${h.version})`],
		["program", image.exe],
		["arguments", image.argv.map(shellQuote).join(" ")],
		["comm", h.comm],
		["pid", String(h.pid)],
		["taken", `${localTime(takenMs)} (${age(takenMs, nowMs)})`],
		["capture", `${duration(h.captureNs)}, on signal ${signalName(h.triggerSignal)}`],
		["host", h.hostname],
		["kernel", h.kernelRelease],
		["cwd", image.cwd],
	], [], ""));

	out.push("", "process settings:");
	out.push(table(processSettings(image)));

	out.push("", `threads (${image.threads.length}):`);
	out.push(table([
		["TID", "RIP", "RSP", "FS_BASE"],
		...image.threads.map((t) => [String(t.tid), hex(t.userRip), hex(t.userRsp), hex(t.fsBase)]),
	], [0]));

	out.push("", `memory (${image.regions.length} regions, ${bytes(memBytes)}):`);
	out.push(table([
		["START-END", "PERM", "SIZE", "KIND", "DATA", "ZERO", "FILE", "NAME"],
		...image.regions.map((r) => {
			const s = storage(r);
			const flags = vmFlagNames(r);
			const name = [regionName(r), r.flags & CKPT_REGION_UNREAD ? "(no read permission)" : "",
				s.guard ? `(guard pages: ${bytes(s.guard)})` : "", flags.length ? `[${flags.join(" ")}]` : ""].filter(Boolean).join(" ");
			const size = (n: number) => (n === 0 ? "-" : bytes(n));
			return [`${hex(r.start)}-${hex(r.end)}`, perms(r), bytes(r.end - r.start), REGION_KINDS[r.kind] ?? "?",
				size(s.data), size(s.hole), size(s.file), name];
		}),
	], [2, 4, 5, 6]));

	out.push("", "kernel mappings (placed, not stored):");
	out.push(table(h.specials.map((s) =>
		s.start === 0n && s.end === 0n ? [s.name, "absent", ""] : [s.name, `${hex(s.start)}-${hex(s.end)}`, bytes(s.end - s.start)]), [2]));

	out.push("", `open files (${image.fds.length}):`);
	if (image.fds.length > 0)
		out.push(table([
			["FD", "KIND", "FLAGS", "OFFSET", "PATH"],
			...image.fds.map((f) => [
				String(f.fd), FD_KINDS[f.kind] ?? "?", fdFlags(f),
				hasOffset(f) ? String(f.offset) : "-",
				fdName(f),
			]),
		], [0, 3]));
	if (image.locks.length > 0) {
		out.push("", `locks (${image.locks.length}, taken again at restart):`);
		out.push(table([
			["FD", "KIND", "TYPE", "BYTES"],
			...image.locks.map((l) => {
				const f = lockFacts(l);
				return [String(l.fd), f.kind, f.type, f.kind === "posix" || f.kind === "ofd" ? `${f.start}-${f.end ?? "EOF"}` : "whole file"];
			}),
		], [0]));
	}

	out.push("", `POSIX timers (${image.timers.length}; same ids at restart, armed with the time left):`);
	if (image.timers.length > 0)
		out.push(table([
			["ID", "CLOCK", "INTERVAL", "LEFT", "OVERRUN", "ON EXPIRY"],
			...image.timers.map((t) => [
				String(t.id), clockName(t, image.threads), t.intervalNs ? duration(t.intervalNs) : "-",
				t.remainingNs ? duration(t.remainingNs) : "disarmed", String(t.overrun), timerNotify(t),
			]),
		], [0, 2, 3, 4]));

	out.push("", `pending signals (${image.signals.length}${image.signals.length ? `: ${pendingCounts(image.signals)}` : ""}; queued again at restart):`);
	if (image.signals.length > 0)
		out.push(table([
			["SIGNAL", "FOR", "CODE", "FROM", "VALUE"],
			...image.signals.map((s) => {
				const f = pendingSignalFacts(s);
				return [signalName(s.signo), s.thread === null ? "the process" : `thread ${s.tid} (#${s.thread})`, f.code, f.sender, f.value ?? "-"];
			}),
		], []));

	out.push("", table([
		["image size", bytes(image.fileSize)],
		["memory data", `${bytes(dataBytes)} stored of ${bytes(memBytes)} mapped`],
		["pipe data", bytes(pipeBytes)],
		...(fileBytes > 0 ? [["file data", `${bytes(fileBytes)} (deleted files and memfds)`]] : []),
	], [], ""));
	return out.join("\n");
}
