/**
 * The one libc binding, through bun:ffi: every libc function ckpt calls,
 * in one table opened once, on first use (one dlopen per start, not one
 * per caller). The calls themselves live by job:
 * process-calls.ts (what ckpt does to its own process to become the
 * program: execve, signals, limits, descriptor flags) and file-calls.ts
 * (the few file operations made before that execve). This file and those
 * two are the only ones that use FFI.
 *
 * errno is read with __errno_location() right after the failing call, on
 * the same (JS main) thread, before any other FFI call can change it.
 */
import { CString, dlopen, read } from "bun:ffi";
import { RuntimeError } from "../cli/errors.ts";

let lib: ReturnType<typeof open> | undefined;

function open() {
	return dlopen("libc.so.6", {
		execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
		signal: { args: ["i32", "u64"], returns: "u64" },
		sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
		sigqueue: { args: ["i32", "i32", "u64"], returns: "i32" },
		fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
		getrlimit: { args: ["i32", "ptr"], returns: "i32" },
		setrlimit: { args: ["i32", "ptr"], returns: "i32" },
		__errno_location: { args: [], returns: "ptr" },
		strerror: { args: ["i32"], returns: "ptr" },
		open: { args: ["ptr", "i32", "u32"], returns: "i32" },
		pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
		write: { args: ["i32", "ptr", "u64"], returns: "i64" },
		close: { args: ["i32"], returns: "i32" },
		fsync: { args: ["i32"], returns: "i32" },
		fchmod: { args: ["i32", "u32"], returns: "i32" },
		access: { args: ["ptr", "i32"], returns: "i32" },
		mkdir: { args: ["ptr", "u32"], returns: "i32" },
		rename: { args: ["ptr", "ptr"], returns: "i32" },
		unlink: { args: ["ptr"], returns: "i32" },
		syscall: { args: ["i64", "i32", "ptr", "ptr", "i32"], returns: "i64" },
		getdents64: { args: ["i32", "ptr", "u64"], returns: "i64" },
		readlink: { args: ["ptr", "ptr", "u64"], returns: "i64" },
		getxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
	}).symbols;
}

/**
 * Bun's FFI compiles its calls as it goes: where memory may not be both
 * written and executed (PR_SET_MDWE, which systemd's
 * MemoryDenyWriteExecute= sets since v256), it has no JIT and every call
 * fails. Say so, rather than Bun's "bun:ffi requires the JIT".
 */
export function libc() {
	try {
		return (lib ??= open());
	} catch (e) {
		if (!/requires the JIT/.test(String(e))) throw e;
		throw new RuntimeError(
			"cannot run without a JIT: this process may not have memory both written and executed " +
				"(memory-deny-write-execute: PR_SET_MDWE, systemd's MemoryDenyWriteExecute=), or BUN_JSC_useJIT=0 is set");
	}
}

/** errno of the last failed call on this thread: read it before any other call. */
export function errno(): number {
	const p = libc().__errno_location();
	return p === null ? 0 : read.i32(p);
}

/** strerror(3): "No such file or directory" for ENOENT. */
export function strerror(err: number): string {
	const p = libc().strerror(err);
	return p === null ? `errno ${err}` : new CString(p).toString();
}

/**
 * A C string for one call. Held in a local for the call's duration (the
 * frame keeps it alive: JavaScriptCore scans the stack conservatively).
 */
export function cstr(s: string): Buffer {
	return Buffer.from(`${s}\0`, "utf8");
}

/** A failed call: the errno and its text, as `what: text`. */
export class SysError extends Error {
	constructor(readonly what: string, readonly errno: number) {
		super(`${what}: ${strerror(errno)}`);
	}
}

/** `rc`, or a SysError naming `what` if the call failed. */
export function check(rc: number | bigint, what: string): number {
	if (Number(rc) < 0) throw new SysError(what, errno());
	return Number(rc);
}

/** errno EEXIST, for callers that expect a file or directory to be there already. */
export const EEXIST = 17;
