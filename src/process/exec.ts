/**
 * Replacing ckpt with another program in place (same pid), after undoing
 * what the Bun runtime changed in its own process, so the program starts as
 * if the shell had run it directly. Bun ignores SIGPIPE and SIGXFSZ (both
 * dispositions survive execve) and raises the RLIMIT_NOFILE soft limit to
 * the hard limit (inherited too). Bun also makes stdin/stdout/stderr
 * non-blocking when it opens its stream for a pipe (which @clack/prompts
 * does as soon as the executable loads); the flag lives in the shared open
 * file description, so the program would inherit it and see EAGAIN on
 * writes. Bun also marks every descriptor from 4 up close-on-exec as it
 * starts (close_range(4, ~0, CLOSE_RANGE_CLOEXEC)), so the descriptors the
 * caller passed (`5<file`, `<(...)`, a make jobserver) would never reach
 * the program: see passInheritedFds. Its own fds are all close-on-exec and
 * it blocks no signals on the main thread, so nothing else needs undoing.
 * The one change we add on purpose is blocking the checkpoint signal (see
 * execInPlace).
 */
import { RuntimeError } from "../cli/errors.ts";
import { numberedEntries, readLink, readRange } from "./file-calls.ts";
import { strerror } from "./libc.ts";
import { CKPT_ENV_FLAG_ON, CKPT_ENV_SIGNAL_BLOCKED } from "../protocol/protocol.ts";
import {
	blockSignal, clearCloseOnExec, clearNonblocking, execve, getrlimit, isCloseOnExec, RLIM_INFINITY, RLIMIT_NOFILE,
	resetSignal, setrlimit, unblockSignal,
} from "./process-calls.ts";

const SIGPIPE = 13;
const SIGXFSZ = 25;

/**
 * The soft "Max open files" limit from a /proc/<pid>/limits text, or null
 * when the line is missing or malformed.
 *
 * @example parseMaxOpenFilesSoft("Max open files  1024  4096  files\n") // 1024n
 */
export function parseMaxOpenFilesSoft(limits: string): bigint | null {
	const m = limits.match(/^Max open files\s+(\d+|unlimited)\s+/m);
	if (!m) return null;
	return m[1] === "unlimited" ? RLIM_INFINITY : BigInt(m[1]!);
}

/**
 * The descriptors the Bun runtime opened for itself among `fds` (open, from
 * 3 up, close-on-exec), given each one's /proc/self/fd link and fdinfo.
 * At this point Bun has exactly two left open: the epoll instance of its
 * event loop and the eventfd that wakes it, registered in that epoll (the
 * files ckpt itself reads are closed again). Every other descriptor was
 * open when ckpt started, and so was passed by the caller without
 * close-on-exec: a descriptor that is close-on-exec in the caller does not
 * survive the caller's execve of ckpt. A runtime's own epoll and eventfd
 * are created close-on-exec by any runtime, so a passed pair is not a
 * concern.
 *
 * @example runtimeFds([3, 5, 6], { 5: "anon_inode:[eventpoll]", 6: "anon_inode:[eventfd]" }, { 5: "tfd:        6 events: 19" }) // [5, 6]
 */
export function runtimeFds(fds: number[], link: Record<number, string | null>, fdinfo: Record<number, string>): number[] {
	const own: number[] = [];
	for (const fd of fds) {
		if (link[fd] !== "anon_inode:[eventpoll]") continue;
		for (const m of (fdinfo[fd] ?? "").matchAll(/^tfd:\s*(\d+)/gm)) {
			const watched = Number(m[1]);
			if (fds.includes(watched) && link[watched] === "anon_inode:[eventfd]") own.push(fd, watched);
		}
	}
	return own;
}

/** The descriptors open at start, when something may open more before the exec (the interactive mode). */
let openAtStart: number[] | undefined;

/**
 * Note which descriptors are open now, before anything is shown: the
 * terminal handles Bun opens for the interactive mode's prompts are then
 * left close-on-exec, as they are not the caller's.
 */
export function rememberInheritedFds(): void {
	openAtStart = numberedEntries("/proc/self/fd");
}

/**
 * Undo Bun's close_range: every descriptor from 4 up that the caller
 * passed reaches the program again, at its number, with its open file's
 * flags and offset untouched. Bun leaves fds 0-3 alone, but its epoll may
 * be fd 3 when the caller passed none there.
 */
function passInheritedFds(): void {
	const fds = numberedEntries("/proc/self/fd").filter(
		(fd) => fd >= 3 && isCloseOnExec(fd) && (openAtStart === undefined || openAtStart.includes(fd)),
	);
	const link: Record<number, string | null> = {};
	const fdinfo: Record<number, string> = {};
	for (const fd of fds) {
		link[fd] = readLink(`/proc/self/fd/${fd}`);
		if (link[fd] === "anon_inode:[eventpoll]") {
			const info = readRange(`/proc/self/fdinfo/${fd}`, 0, 65536);
			fdinfo[fd] = info ? new TextDecoder().decode(info) : "";
		}
	}
	const own = runtimeFds(fds, link, fdinfo);
	for (const fd of fds) if (fd >= 4 && !own.includes(fd)) clearCloseOnExec(fd);
}

/**
 * Put back the process state Bun changed, as far as it is known; the
 * descriptors it made close-on-exec only when `passFds`.
 */
function undoRuntimeChanges(passFds: boolean): void {
	if (passFds) passInheritedFds();
	resetSignal(SIGPIPE);
	resetSignal(SIGXFSZ);
	// Programs expect blocking stdio; a parent that meant otherwise is vanishingly rare.
	for (const fd of [0, 1, 2]) clearNonblocking(fd);
	// Unreadable (the parent is gone) or unparsable: leave ours.
	const limits = readRange(`/proc/${process.ppid}/limits`, 0, 16384);
	const soft = limits && parseMaxOpenFilesSoft(new TextDecoder().decode(limits));
	if (soft == null) return;
	const now = getrlimit(RLIMIT_NOFILE);
	const cur = soft < now.max ? soft : now.max;
	if (cur !== now.cur) setrlimit(RLIMIT_NOFILE, { cur, max: now.max });
}

/**
 * Become `path` with `argv` and `env` (same pid). Throws RuntimeError with
 * the system's reason if execve fails; never returns otherwise.
 *
 * `holdSignal`: exec with that signal blocked, so a checkpoint request that
 * arrives before libckpt has installed its handler waits instead of killing
 * the program. CKPT_SIGNAL_BLOCKED=1 tells libckpt to unblock it once the
 * handler is in place; it is not set when the signal was already blocked
 * by our parent, so the program keeps the mask it was given.
 */
export function execInPlace(
	path: string,
	argv: string[],
	env: Record<string, string | undefined>,
	holdSignal?: number,
): never {
	undoRuntimeChanges(true);
	return execAsIs(path, argv, env, holdSignal);
}

/**
 * Become the restore stub (same pid), Bun's changes undone but for the
 * descriptors: the stub closes every one above 2 that it does not restore
 * (c/stub/fd_place.c), so what a caller passes there never reaches a
 * restored program, and passing it on would only cost `ckpt restart` its
 * listing of /proc/self/fd (about a millisecond).
 */
export function execStub(path: string, argv: string[], env: Record<string, string | undefined>): never {
	undoRuntimeChanges(false);
	return execAsIs(path, argv, env);
}

function execAsIs(path: string, argv: string[], env: Record<string, string | undefined>, holdSignal?: number): never {
	const finalEnv = { ...env };
	delete finalEnv[CKPT_ENV_SIGNAL_BLOCKED];
	const weBlocked = holdSignal !== undefined && !blockSignal(holdSignal);
	if (weBlocked) finalEnv[CKPT_ENV_SIGNAL_BLOCKED] = CKPT_ENV_FLAG_ON;
	// A plain loop: in the cold interpreter, entries/flatMap/templates cost 0.3 ms here.
	const envp: string[] = [];
	for (const k in finalEnv) if (finalEnv[k] !== undefined) envp.push(k + "=" + finalEnv[k]);
	const err = execve(path, argv, envp);
	if (weBlocked) unblockSignal(holdSignal);
	throw new RuntimeError(`cannot execute ${path}: ${strerror(err)}`);
}
