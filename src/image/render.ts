/**
 * The text of `ckpt info`: what was checkpointed, when and where, and how
 * each part of memory is stored. The facts it shares with --json are in
 * facts.ts, the names of kinds in kinds.ts. Pure: image and clock in,
 * text out.
 */
import { CKPT_CODEC_NONE, CKPT_HEADER_DAEMON, CKPT_REGION_UNREAD, CKPT_TRACKING_WRITE_PROTECT } from "./format.ts";
import {
	bytesInImage, fdFlags, storedLength, lockFacts, membarrierNames, pendingSignalFacts, perms, regionName, storage, umaskText,
	vmFlagNames, schedulingText, personalityText, credentialsText, dumpableText, mempolicyText,
} from "./facts.ts";
import { clockName } from "./clocks.ts";
import { CODEC_NAMES, EXTENT_KINDS, FD_KINDS, LIBC_NAMES, LOCK_KINDS, REGION_KINDS, TRACKING_NAMES } from "./kinds.ts";
import { firstHolderText, treeProcesses, treeRows, treeSummary, type TreeProcess } from "./tree-info.ts";
import type { Image, PendingSignal, Thread, Timer } from "./types.ts";
import { signalName } from "../process/signals.ts";
import { age, bytes, duration, hex, localTime, shellQuote, table } from "../cli/text.ts";

/** Extent kinds whose bytes get a column in the memory table; the others are mentioned beside the region's name. */
const COLUMN_EXTENTS = EXTENT_KINDS.rows.filter((k) => k.hasBytes);
const NAMED_EXTENTS = EXTENT_KINDS.rows.filter((k) => !k.hasBytes);

/** PR_GET_THP_DISABLE as words. */
export function thpText(v: number): string {
	return v & 1 ? (v & 2 ? "disabled except where madvised" : "disabled") : "allowed";
}

/** CPUs as taskset -c takes them, runs shortened: "0-3,6"; "none" for an empty mask (which a restart refuses). */
export function cpuList(cpus: readonly number[]): string {
	const runs: string[] = [];
	for (let i = 0; i < cpus.length; i++) {
		let j = i;
		while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
		runs.push(j === i ? `${cpus[i]}` : `${cpus[i]}${j === i + 1 ? "," : "-"}${cpus[j]}`);
		i = j;
	}
	return runs.join(",") || "none";
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
		["personality", personalityText(image.header.personality)],
		["deny write+exec", image.header.mdwe ? `on (PR_SET_MDWE${image.header.mdwe & 2 ? ", not inherited" : ""})` : "off"],
		["transparent huge pages", thpText(p.thpDisable)],
		["no_new_privs", p.noNewPrivs ? "set" : "no"],
		["credentials", credentialsText(image.threads)],
		["dumpable", dumpableText(image.header.dumpable)],
		["coredump filter", hex(BigInt(image.header.coredumpFilter))],
		["child subreaper", p.childSubreaper ? "yes" : "no"],
		["oom_score_adj", String(p.oomScoreAdj)],
		["membarrier", mb === null ? "unknown (kernel before 6.3)" : mb.length ? mb.join(", ") : "none"],
		["login uid", `${p.loginuid === null ? "unset" : p.loginuid} (must match at restart)`],
		["groups", `${image.groups.length ? image.groups.join(",") : "none"} (must match at restart, or be settable: CAP_SETGID)`],
		["cgroup", `${image.cgroup.trim().split("\n").join("; ") || "unknown"} (not carried: the restart's own applies)`],
	];
}

/** How the image's pages were chosen, and how long its chain is. */
function chainText(h: Image["header"]): string {
	const how = TRACKING_NAMES[h.tracking]![1];
	if (!h.links.length) return h.tracking === CKPT_TRACKING_WRITE_PROTECT ? "every page: the first image of a chain" : how;
	return `${how}; incremental, image ${h.links.length + 1} of a chain (id ${h.imageId.toString(16).padStart(16, "0")})`;
}

/**
 * `processes`: the tree's, when the image is a tree's root (treeProcesses;
 * by default from its member table alone, no member image read).
 */
export function renderInfo(image: Image, nowMs: number, processes: TreeProcess[] = treeProcesses(image)): string {
	const h = image.header;
	const takenMs = Number(h.createdNs / 1_000_000n);
	const out: string[] = [];
	const dataBytes = image.regions.reduce((n, r) => n + bytesInImage(storage(r)), 0);
	const pipeBytes = image.fds.reduce((n, f) => n + f.pipeLen, 0);
	const fileBytes = image.fds.reduce((n, f) => n + f.contentLen, 0);
	const memBytes = image.regions.reduce((n, r) => n + Number(r.end - r.start), 0);
	const compressedBytes = storedLength(image.regions);

	out.push(table([
		["image", `${image.path} (format version ${h.version})`],
		["program", image.exe],
		["arguments", image.argv.map(shellQuote).join(" ")],
		["comm", h.comm],
		["pid", String(h.pid)],
		["ppid", String(h.ppid)],
		["pgid", String(h.pgid)],
		["sid", String(h.sid)],
		...(treeSummary(image) ? [["tree", treeSummary(image)!]] : []),
		...(h.flags & CKPT_HEADER_DAEMON ? [["daemon", "left running by its exited launch: restarts detached, leading its own session"]] : []),
		["taken", `${localTime(takenMs)} (${age(takenMs, nowMs)})`],
		["capture", `${duration(h.captureNs)}, on signal ${signalName(h.triggerSignal)}`],
		["host", h.hostname],
		["kernel", h.kernelRelease],
		["libc", LIBC_NAMES[h.libc]!],
		["cwd", image.cwd],
		["pages", chainText(h)],
	], [], ""));
	for (const [i, l] of h.links.entries())
		out.push(`  reads from older image ${i + 1}: id ${l.imageId.toString(16).padStart(16, "0")}, ${bytes(Number(l.fileSize))}`);

	if (processes.length > 0) {
		out.push("", `processes (${processes.length}, parents first; each restored from its own image):`);
		out.push(table([["PID", "PPID", "PGID", "SID", "KIND", "PROGRAM", "STATE", "IMAGE", "SIZE"], ...treeRows(processes, bytes)], [0, 1, 2, 3, 8]));
	}

	out.push("", "process settings:");
	out.push(table(processSettings(image)));

	out.push("", `threads (${image.threads.length}):`);
	// Columns only where a thread has something in them: both are rare.
	const anyPdeath = image.threads.some((t) => t.pdeathSignal), anyTuned = image.threads.some((t) => schedulingText(t));
	const anyNuma = image.threads.some((t) => mempolicyText(t));
	const rare = (t: Thread) => [
		...(anyPdeath ? [t.pdeathSignal ? signalName(t.pdeathSignal) : "-"] : []), ...(anyTuned ? [schedulingText(t) || "-"] : []),
		...(anyNuma ? [mempolicyText(t) || "-"] : [])];
	out.push(table([
		["TID", "NAME", "RIP", "RSP", "FS_BASE", "CPUS", ...(anyPdeath ? ["ON_PARENT_DEATH"] : []), ...(anyTuned ? ["SCHEDULING"] : []), ...(anyNuma ? ["MEMORY_POLICY"] : [])],
		...image.threads.map((t) => [String(t.tid), t.name || "-", hex(t.userRip), hex(t.userRsp), hex(t.fsBase), cpuList(t.cpus), ...rare(t)]),
	], [0]));

	out.push("", `memory (${image.regions.length} regions, ${bytes(memBytes)}):`);
	out.push(table([
		["START-END", "PERM", "SIZE", "KIND", ...COLUMN_EXTENTS.map((k) => k.text), "NAME"],
		...image.regions.map((r) => {
			const s = storage(r);
			const flags = vmFlagNames(r);
			const name = [regionName(r), r.flags & CKPT_REGION_UNREAD ? "(no read permission)" : "",
				...NAMED_EXTENTS.map((k) => (s[k.json] ? `(${k.text}: ${bytes(s[k.json]!)})` : "")),
				flags.length ? `[${flags.join(" ")}]` : "", mempolicyText(r) ? `[mbind ${mempolicyText(r)}]` : ""].filter(Boolean).join(" ");
			const size = (n: number) => (n === 0 ? "-" : bytes(n));
			return [`${hex(r.start)}-${hex(r.end)}`, perms(r), bytes(r.end - r.start), REGION_KINDS.of(r.kind)?.text ?? "?",
				...COLUMN_EXTENTS.map((k) => size(s[k.json]!)), name];
		}),
	], [2, ...COLUMN_EXTENTS.map((_, i) => 4 + i)]));

	out.push("", "kernel mappings (placed, not stored):");
	out.push(table(h.specials.map((s) =>
		s.start === 0n && s.end === 0n ? [s.name, "absent", ""] : [s.name, `${hex(s.start)}-${hex(s.end)}`, bytes(s.end - s.start)]), [2]));

	out.push("", `open files (${image.fds.length}):`);
	if (image.fds.length > 0)
		out.push(table([
			["FD", "KIND", "FLAGS", "OFFSET", "PATH"],
			...image.fds.map((f) => {
				const kind = FD_KINDS.of(f.kind);
				const path = [kind?.pathText(f) ?? f.path, firstHolderText(f) ? `(${firstHolderText(f)})` : ""].filter(Boolean).join(" ");
				return [String(f.fd), kind?.text ?? "?", fdFlags(f), kind?.offset ? String(f.offset) : "-", path];
			}),
		], [0, 3]));
	if (image.locks.length > 0) {
		out.push("", `locks (${image.locks.length}, taken again at restart):`);
		out.push(table([
			["FD", "KIND", "TYPE", "BYTES"],
			...image.locks.map((l) => {
				const kind = LOCK_KINDS.of(l.kind)!;
				const f = lockFacts(l);
				return [String(l.fd), kind.text, f.type, kind.wholeFile ? "whole file" : `${f.start}-${f.end ?? "EOF"}`];
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
		["memory data", `${bytes(dataBytes)} stored of ${bytes(memBytes)} mapped`
			+ (h.codec === CKPT_CODEC_NONE ? "" : `, compressed (${CODEC_NAMES[h.codec]}) to ${bytes(compressedBytes)}`)],
		["pipe data", bytes(pipeBytes)],
		...(fileBytes > 0 ? [["file data", `${bytes(fileBytes)} (deleted files, memfds, kept temporary files)`]] : []),
	], [], ""));
	return out.join("\n");
}
