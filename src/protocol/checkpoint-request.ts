/**
 * Asking a running ckpt-managed process for a checkpoint and waiting until
 * the image is complete, through its status line (status.ts).
 *
 * Algorithm:
 *   1. The process must exist, be ours (kill(2) would refuse anyway, but
 *      "another user" says more than EPERM) and carry a status line.
 *   2. Note the count of completed checkpoints (and pass on a standing
 *      warning from the status line), then send the checkpoint signal with
 *      sigqueue and a request value (see REQUEST_*).
 *   3. Poll the status until the count grows (written, or stopped: success),
 *      or it reports failed after our request (its message is the error),
 *      or the process is gone: a stopping process exits right after its
 *      image is complete, so then an image at the recorded path created
 *      after our request means success. A --continue checkpoint may be
 *      handed to a background writer (status.ts, backgroundWriter): when
 *      that process is gone, a new image means success likewise.
 *   4. A deadline turns anything else into an error instead of a hang.
 */
import { readlinkSync, statSync } from "node:fs";
import { RuntimeError } from "../cli/errors.ts";
import { CKPT_REQUEST_CONTINUE_SIGVAL, CKPT_REQUEST_SIGVAL, CKPT_STATE_FAILED, CKPT_STATE_STOPPED, CKPT_STATE_WRITTEN, CKPT_STATUS_WARNING, CKPT_STUB_FILE } from "./protocol.ts";
import { ImageError, readImage } from "../image/read.ts";
import { strerror } from "../process/libc.ts";
import { sigqueue } from "../process/process-calls.ts";
import {
	checkpointSignal, commandLine, daemonStatus, hasEnded, inheritedRoot, launchedToContinue, pidSeenHere, processUid, programBehind, readStatus, type StatusRead,
} from "../process/proc.ts";
import { staticallyLinked } from "../process/program.ts";
import { backgroundWriter, type Status } from "./status.ts";

/**
 * si_value of a request (c/ckpt_protocol.h, mirrored in protocol.ts). A request
 * reaches libckpt even when the program has its own handler for the
 * signal; the second also keeps the program running afterwards, whatever
 * it was launched with.
 */
export const REQUEST_SIGVAL = CKPT_REQUEST_SIGVAL;
export const REQUEST_CONTINUE_SIGVAL = CKPT_REQUEST_CONTINUE_SIGVAL;

const ESRCH = 3;
const EPERM = 1;

export interface CheckpointOptions {
	keepRunning: boolean;
	timeoutMs: number;
	/** Told, before the request is sent, of a standing warning in the process's status line (it took the trigger signal for itself). */
	warn?: (line: string) => void;
}

export interface CheckpointResult {
	pid: number;
	image: string;
	size: number | null; // null if the image is already gone again
	ms: number; // from our request to seeing the image complete
	stopped: boolean; // the program exits with CKPT_EXIT_CHECKPOINTED (it was not told to continue)
}

/** Reads in a row that find no status line before the process counts as not ckpt's (see the poll). */
const UNMANAGED_READS = 20;

/** How long a process launched by ckpt may take to get its checkpoint handler in place. */
const STARTUP_MS = 10_000;

/** `pid` as the user typed it, shown in every message. */
function describe(pid: number): string {
	const argv0 = commandLine(pid)[0];
	return argv0 ? `process ${pid} (${argv0.split("/").pop()})` : `process ${pid}`;
}

/** EACCES/EPERM from /proc: the program made itself non-dumpable or changed credentials. */
function isPermissionError(e: unknown): boolean {
	const code = (e as NodeJS.ErrnoException).code;
	return code === "EACCES" || code === "EPERM";
}

/**
 * readStatus, with "hidden" for a status line we may no longer read: a
 * process that makes itself non-dumpable (or changes its credentials, which
 * does that too) has a /proc/PID/environ only root can read.
 */
function readVisibleStatus(pid: number): StatusRead | { kind: "hidden" } {
	try {
		return readStatus(pid);
	} catch (e) {
		if (isPermissionError(e)) return { kind: "hidden" };
		throw e;
	}
}

/** Step 1: the status of a process we may checkpoint, or a one-line error. */
export function checkTarget(pid: number, uid: number): Extract<StatusRead, { kind: "status" | "starting" }> {
	const owner = processUid(pid);
	if (owner === null) throw new RuntimeError(`no process with pid ${pid}`);
	if (owner !== uid) throw new RuntimeError(`${describe(pid)} belongs to another user (uid ${owner}); only its owner can checkpoint it`);
	const read = readVisibleStatus(pid);
	if (read.kind === "hidden")
		throw new RuntimeError(
			`${describe(pid)}: cannot read its status line in /proc/${pid}/environ (permission denied: the program made itself ` +
				`non-dumpable or changed its credentials); if it runs under ckpt, its checkpoint signal (kill -USR2 ${pid}, ` +
				`unless launched with --signal) still checkpoints it`,
		);
	if (read.kind === "gone") throw new RuntimeError(`no process with pid ${pid} (it has exited)`);
	if (read.kind === "unmanaged") {
		const daemon = leftRunning(pid);
		if (daemon) return { kind: "status", status: daemon };
		throw new RuntimeError(notManaged(pid));
	}
	const unloaded = read.kind === "status" ? unloadedProgram(pid) : null;
	if (unloaded) throw new RuntimeError(unloaded);
	return read;
}

/**
 * Why a request to `pid` must not be sent, or null: it runs a static
 * program now (exec'd in its place after the launch, c/lib/exec.c warns
 * then), where the trigger has no handler and would end it; or valgrind's
 * tool, whose guest has libckpt but whose status line libckpt cannot
 * update (the guest's environment is a copy), so no answer would come. A
 * restarted program's exe is ckpt's restore stub, static too, and fine.
 */
function unloadedProgram(pid: number): string | null {
	let exe: string;
	try {
		exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
	} catch {
		return null; // not ours to read: judged by its answer
	}
	if (exe.endsWith(`/${CKPT_STUB_FILE}`) || !staticallyLinked(`/proc/${pid}/exe`, exe)) return null;
	if (exe.includes("/valgrind/"))
		return `${describe(pid)} runs under valgrind (${exe}), whose process ckpt cannot capture; checkpoint the program without valgrind. No signal was sent`;
	return `${describe(pid)} now runs ${exe}, a statically linked program ckpt cannot be loaded into: it cannot be checkpointed, and the checkpoint signal would end it. No signal was sent`;
}

/**
 * The status line of a process the launched program left running when it
 * exited (a daemon's fork), which the request makes the root of its own
 * checkpoint (c/lib/daemon_root.c); null for any other process.
 */
function leftRunning(pid: number): Status | null {
	const root = inheritedRoot(pid);
	if (root === null || (processUid(root) !== null && !hasEnded(root))) return null;
	return daemonStatus(pid);
}

/**
 * Why `pid` is not a process to signal: only the launched program (the
 * tree's root) coordinates a checkpoint. A process that inherited its block
 * belongs to the root's tree while the root runs (a daemon left running
 * once the root has exited is a target: leftRunning).
 */
function notManaged(pid: number): string {
	const root = inheritedRoot(pid);
	if (root === null) return `${describe(pid)} is not running under ckpt (start it with: ckpt PROGRAM...)`;
	if (processUid(root) === null || hasEnded(root))
		return `${describe(pid)} was left running by process ${root}, the program ckpt ran, but carries no status line of ckpt's`;
	return `${describe(pid)} was started by ${describe(root)}, the program ckpt runs: checkpoint that one (ckpt checkpoint ${root}), which takes what it started with it`;
}

/**
 * Checkpoint `pid` and wait for the image. Every failure is a RuntimeError
 * with one line saying why.
 */
export async function requestCheckpoint(typed: number, opts: CheckpointOptions, uid = process.getuid!()): Promise<CheckpointResult> {
	// After a restart into a namespace the shell knows the supervisor's pid;
	// the request must reach the program itself with its sigqueue value.
	const pid = programBehind(typed);
	const before = checkTarget(pid, uid);
	const count0 = before.kind === "status" ? before.status.count : 0;
	const seq0 = before.kind === "status" ? before.status.seq : 0;
	let image = before.kind === "status" ? before.status.image : "";
	// A full-screen program hid this warning when libckpt printed it.
	if (before.kind === "status" && before.status.message.startsWith(CKPT_STATUS_WARNING)) opts.warn?.(`ckpt: ${before.status.message}`);
	// Read while we may: a program that hides its status meanwhile is judged by its image and its exit.
	const expectStop = !opts.keepRunning && !launchedToContinue(pid);

	const signal = checkpointSignal(pid);
	const sentAtMs = Date.now();
	const started = performance.now();
	const err = sigqueue(pid, signal, opts.keepRunning ? REQUEST_CONTINUE_SIGVAL : REQUEST_SIGVAL);
	if (err === ESRCH) throw new RuntimeError(`no process with pid ${pid} (it has exited)`);
	if (err === EPERM) throw new RuntimeError(`process ${pid} belongs to another user; only its owner can checkpoint it`);
	if (err !== 0) throw new RuntimeError(`cannot signal process ${pid}: ${strerror(err)}`);

	const done = (stopped: boolean): CheckpointResult => {
		const ms = performance.now() - started;
		let size: number | null = null;
		try {
			size = statSync(image).size;
		} catch {
			// Moved or replaced already: report what we know.
		}
		return { pid, image, size, ms, stopped };
	};

	const deadline = started + opts.timeoutMs;
	let unmanagedReads = 0;
	// The background writer's pid as the status line gives it, and here: found once (a scan of /proc in a namespace).
	let writerSeen: { inner: number; here: number | null } | undefined;
	for (let polls = 0; ; polls++) {
		// Most checkpoints take milliseconds: look often at first, then every 10 ms.
		await Bun.sleep(polls < 100 ? 1 : 10);
		let read = readVisibleStatus(pid);
		// A daemon until its handler has made it a root (leftRunning): its status line as it was.
		const daemon = read.kind === "unmanaged" ? leftRunning(pid) : null;
		if (daemon) read = { kind: "status", status: daemon };
		if (read.kind === "hidden") {
			// The request was delivered; only the image and the process's end can tell how it went.
			if (imageWrittenSince(image, sentAtMs)) {
				if (!expectStop) return done(false);
				if (hasEnded(pid)) return done(true);
			} else if (hasEnded(pid)) throw new RuntimeError(`process ${pid} exited before its checkpoint was complete`);
		} else if (read.kind === "status") {
			const s = read.status;
			image = s.image || image;
			if (s.count > count0 && (s.state === CKPT_STATE_WRITTEN || s.state === CKPT_STATE_STOPPED)) return done(s.state === CKPT_STATE_STOPPED);
			if (s.state === CKPT_STATE_FAILED && s.seq > seq0) throw new RuntimeError(`checkpoint of ${pid} failed: ${s.message || "no reason given"}; the program continues`);
			// Ours completed and another one is under way already (a --continue program).
			if (s.count > count0) return done(false);
			const inner = s.seq > seq0 ? backgroundWriter(s) : null;
			if (inner !== null && writerSeen?.inner !== inner) writerSeen = { inner, here: pidSeenHere(pid, inner) };
			const writer = inner === null ? null : writerSeen!.here;
			if (inner !== null && (writer === null || hasEnded(writer))) {
				if (imageWrittenSince(image, sentAtMs)) return done(false);
				throw new RuntimeError(`checkpoint of ${pid} failed: its background writer (process ${writer ?? inner}) ended without completing the image (its stderr says why); the program continues`);
			}
		} else if (read.kind === "gone") {
			if (imageWrittenSince(image, sentAtMs)) return done(true);
			throw new RuntimeError(`process ${pid} exited before its checkpoint was complete`);
		} else if (read.kind === "unmanaged") {
			// A daemon rewrites CKPT_PID's digits as it becomes a root: a read may catch them half done.
			if (++unmanagedReads > UNMANAGED_READS) throw new RuntimeError(`process ${pid} is no longer running under ckpt (the pid was reused?)`);
			continue;
		}
		unmanagedReads = 0;
		const now = performance.now();
		if (read.kind === "starting" && now - started > STARTUP_MS)
			throw new RuntimeError(`process ${pid} was launched by ckpt but its checkpoint handler never started (libckpt not loaded?)`);
		if (now > deadline) {
			const seconds = Number((opts.timeoutMs / 1000).toFixed(1));
			const why = read.kind === "status" && read.status.seq > seq0 ? `still ${read.status.state}` : "it has not begun (stopped or busy?)";
			throw new RuntimeError(`no checkpoint from process ${pid} after ${seconds} s: ${why}; it may still complete`);
		}
	}
}

/** Whether a complete image at `path` was taken after `sinceMs` (by its own creation time). */
function imageWrittenSince(path: string, sinceMs: number): boolean {
	if (!path) return false;
	try {
		// The handler stamps creation as it starts, after our signal: allow for Date.now()'s truncation only.
		return Number(readImage(path).header.createdNs / 1_000_000n) >= sinceMs - 1;
	} catch (e) {
		if (e instanceof ImageError) return false;
		throw e;
	}
}
