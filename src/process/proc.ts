/**
 * What /proc says about another process: whether it exists, whose it is,
 * its command line and age, and the settings and status line ckpt left in
 * its initial environment block. Only files the same user may read without
 * ptrace rights are used.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { DEFAULT_SIGNAL } from "./signals.ts";
import { envValue, NOT_STARTED, parseStatus, type Status } from "../protocol/status.ts";
import {
	CKPT_ENV_CONTINUE, CKPT_ENV_PID, CKPT_ENV_SIGNAL, CKPT_ENV_STATUS, CKPT_SIGNAL_MAX, CKPT_SUPERVISOR_NAME,
} from "../protocol/protocol.ts";

/** USER_HZ, the unit of /proc/PID/stat times: fixed at 100 on x86-64 whatever the kernel's HZ. */
const USER_HZ = 100;

/** Contents of /proc/PID/<file>, or null when the process is gone. */
function procFile(pid: number, file: string): Buffer | null {
	try {
		return readFileSync(`/proc/${pid}/${file}`);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH") return null;
		throw e;
	}
}

/** Real uid of `pid` (the one kill(2) permission is judged by), or null if there is no such process. */
export function processUid(pid: number): number | null {
	const status = procFile(pid, "status")?.toString("latin1");
	const m = status?.match(/^Uid:\s+(\d+)/m);
	return m ? Number(m[1]) : null;
}

/** Whether `pid` has ended: gone, or a zombie waiting for its parent. */
export function hasEnded(pid: number): boolean {
	const stat = procFile(pid, "stat")?.toString("latin1");
	return !stat || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

/** Its argv, as /proc/PID/cmdline shows it (a restarted program shows its own again). */
export function commandLine(pid: number): string[] {
	const raw = procFile(pid, "cmdline")?.toString("utf8") ?? "";
	return raw === "" ? [] : raw.replace(/\0$/, "").split("\0");
}

/** Seconds since `pid` started (since its restart, for a restarted one), or null. */
export function uptimeSeconds(pid: number): number | null {
	const stat = procFile(pid, "stat")?.toString("latin1");
	if (!stat) return null;
	// Field 22, counted after the command name, which may itself contain spaces and parentheses.
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	const startTicks = Number(fields[19]);
	const bootSeconds = Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]);
	return Number.isFinite(startTicks) ? Math.max(0, bootSeconds - startTicks / USER_HZ) : null;
}

export type StatusRead =
	| { kind: "gone" } // no such process, or a zombie (its memory is gone)
	| { kind: "unmanaged" } // no CKPT_STATUS: not launched by ckpt
	| { kind: "starting" } // launched by ckpt, libckpt not initialised yet
	| { kind: "status"; status: Status };

/**
 * `pid` as the process itself sees it: the last NSpid entry of its status,
 * its pid inside the namespace a restart put it in (c/stub/pid_namespace.c).
 */
function innermostPid(pid: number): number {
	return namespacePids(pid)?.at(-1) ?? pid;
}

/** `pid`'s NSpid entries, ours first, or null when it is gone. */
function namespacePids(pid: number): number[] | null {
	const m = procFile(pid, "status")?.toString("latin1").match(/^NSpid:\s*([\d\s]+)$/m);
	return m ? m[1]!.trim().split(/\s+/).map(Number) : null;
}

/** The inode link of `pid`'s pid namespace, or null (gone, or not ours to read). */
function pidNamespace(pid: number): string | null {
	try {
		return readlinkSync(`/proc/${pid}/ns/pid`);
	} catch {
		return null;
	}
}

/**
 * The pid here of the process that `program`'s pid namespace calls `inner`
 * (a pid libckpt wrote in the status line is the program's own view, and
 * after a restart into a namespace that is not ours), or null when no such
 * process exists any more.
 */
export function pidSeenHere(program: number, inner: number): number | null {
	if ((namespacePids(program)?.length ?? 1) <= 1) return inner;
	const ns = pidNamespace(program);
	if (ns === null) return null;
	for (const entry of readdirSync("/proc")) {
		const pid = Number(entry);
		if (Number.isInteger(pid) && pid > 0 && innermostPid(pid) === inner && pidNamespace(pid) === ns) return pid;
	}
	return null;
}

/**
 * Whether `pid` is the process ckpt launched, not a child that inherited a
 * copy of its environment block (a forked child shares its parent's text
 * until it execs; libckpt keeps CKPT_PID up to date across restarts, in
 * the program's own pid namespace after a restart into one).
 */
function isLaunchedProcess(pid: number, environ: Uint8Array): boolean {
	const value = envValue(environ, CKPT_ENV_PID);
	if (value === undefined) return false;
	const launched = Number(new TextDecoder().decode(value));
	return launched === pid || launched === innermostPid(pid);
}

/**
 * The root named by the status block `pid` inherited when it is not that
 * root itself (a child, or a daemon the root forked and left behind), or
 * null when it carries no ckpt block at all.
 */
export function inheritedRoot(pid: number): number | null {
	const environ = procFile(pid, "environ");
	if (!environ || envValue(environ, CKPT_ENV_STATUS) === undefined || isLaunchedProcess(pid, environ)) return null;
	const value = envValue(environ, CKPT_ENV_PID);
	const root = value ? Number(new TextDecoder().decode(value)) : Number.NaN;
	return Number.isInteger(root) && root > 0 ? root : null;
}

/** The pids of `pid`'s children, from every thread's children file. */
function childrenOf(pid: number): number[] {
	try {
		return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
			(procFile(pid, `task/${tid}/children`)?.toString("latin1") ?? "").split(" ").filter((s) => s !== "").map(Number),
		);
	} catch {
		return [];
	}
}

/**
 * The program a restart's supervisor stands for (c/stub/supervisor.c: the
 * pid the shell saw, outside the namespace), found below it through the
 * namespace's init and the stand-in parent; any other pid is itself.
 */
export function programBehind(pid: number): number {
	if (procFile(pid, "comm")?.toString("latin1").trim() !== CKPT_SUPERVISOR_NAME) return pid;
	let level = [pid];
	for (let depth = 0; depth < 3 && level.length > 0; depth++) {
		level = level.flatMap(childrenOf);
		for (const child of level) {
			try {
				if (readStatus(child).kind !== "unmanaged" && readStatus(child).kind !== "gone") return child;
			} catch {
				// Unreadable: not the one.
			}
		}
	}
	return pid;
}

/** Tries before a status that keeps changing under us is reported as not a status. */
const TORN_RETRIES = 50;

/**
 * The status line of `pid`. A read that raced a rewrite is repeated; a
 * CKPT_STATUS that never parses (someone else's variable) means unmanaged.
 * Throws the system error when environ is unreadable (another user's process).
 */
export function readStatus(pid: number): StatusRead {
	for (let i = 0; i < TORN_RETRIES; i++) {
		const environ = procFile(pid, "environ");
		if (!environ || environ.length === 0) return { kind: "gone" };
		const block = envValue(environ, CKPT_ENV_STATUS);
		if (!block || !isLaunchedProcess(pid, environ)) return { kind: "unmanaged" };
		const status = parseStatus(new TextDecoder().decode(block));
		if (status === NOT_STARTED) return { kind: "starting" };
		if (status) return { kind: "status", status };
	}
	return { kind: "unmanaged" };
}

/**
 * The status line a daemon carries while its root is gone (a copy of the
 * root's): read although CKPT_PID names the exited root, since the request
 * makes it a root of its own (c/lib/daemon_root.c); null if none is there.
 */
export function daemonStatus(pid: number): Status | null {
	const environ = procFile(pid, "environ");
	const block = environ ? envValue(environ, CKPT_ENV_STATUS) : undefined;
	const status = block ? parseStatus(new TextDecoder().decode(block)) : null;
	return status && status !== NOT_STARTED ? status : null;
}

/**
 * The checkpoint signal of `pid`: the launcher's CKPT_SIGNAL, whose text
 * stays in the environment block after libckpt removes the variable.
 */
export function checkpointSignal(pid: number): number {
	const value = envValue(procFile(pid, "environ") ?? new Uint8Array(), CKPT_ENV_SIGNAL);
	const n = value ? Number(new TextDecoder().decode(value)) : Number.NaN;
	return Number.isInteger(n) && n >= 1 && n <= CKPT_SIGNAL_MAX ? n : DEFAULT_SIGNAL;
}

/** Whether `pid` was launched with --continue (CKPT_CONTINUE=1 stays in its environment block too). */
export function launchedToContinue(pid: number): boolean {
	return envValue(procFile(pid, "environ") ?? new Uint8Array(), CKPT_ENV_CONTINUE) !== undefined;
}

export interface ManagedProcess {
	pid: number;
	argv: string[];
	uptime: number | null;
	status: Status | null; // null while starting
	keepsRunning: boolean; // launched with --continue
}

/** Every ckpt-managed process of user `uid`, lowest pid first. */
export function managedProcesses(uid: number): ManagedProcess[] {
	const found: ManagedProcess[] = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		const pid = Number(name);
		try {
			if (processUid(pid) !== uid) continue;
			const read = readStatus(pid);
			if (read.kind !== "status" && read.kind !== "starting") continue;
			found.push({
				pid,
				argv: commandLine(pid),
				uptime: uptimeSeconds(pid),
				status: read.kind === "status" ? read.status : null,
				keepsRunning: launchedToContinue(pid),
			});
		} catch {
			// Vanished or became unreadable while we looked: not a candidate.
		}
	}
	return found.sort((a, b) => a.pid - b.pid);
}
