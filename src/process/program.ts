/**
 * Finding PROGRAM the way execvp(3) would, and refusing, before anything
 * runs, programs that would start but could never be checkpointed: libckpt
 * arrives through LD_PRELOAD, which only the dynamic loader honours, and
 * which it ignores for setuid/setgid programs. Scripts are judged by their
 * interpreter (followed through `#!/usr/bin/env NAME` too).
 */
import {
	envTarget, fileKind, interpreterRange, isDynamic, type Libc, loaderLibc, parseElfHeader, parseProgramHeaders, parseShebang,
	programHeaderRange, PT_INTERP,
} from "./elf.ts";
import { NotFoundError, RefusedError } from "../cli/errors.ts";
import { accessible, type FileStat, hasFileCapabilities, isDirectory, isRegular, readRange, statPath, X_OK } from "./file-calls.ts";
import { resolvePath } from "./paths.ts";

/** glibc's execvp search path when PATH is unset. */
const DEFAULT_PATH = "/bin:/usr/bin";

/** Linux follows at most this many nested `#!` interpreters. */
const MAX_INTERPRETER_DEPTH = 4;

/**
 * The file execvp would run for `name`: `name` itself (made absolute) when
 * it contains a slash, otherwise the first executable regular file called
 * `name` on PATH. Throws NotFoundError (exit 127) or RefusedError (126).
 */
export function resolveProgram(name: string, path: string | undefined, cwd: string): string {
	if (name === "") throw new NotFoundError("'': no such file or directory");
	if (name.includes("/")) return resolvePath(cwd, name);
	let deniedAt: string | undefined;
	for (const dir of (path ?? DEFAULT_PATH).split(":")) {
		const candidate = resolvePath(cwd, dir === "" ? "." : dir, name);
		const st = statPath(candidate);
		if (!st || isDirectory(st)) continue;
		if (isRegular(st) && accessible(candidate, X_OK)) return candidate;
		deniedAt ??= candidate;
	}
	if (deniedAt) throw new RefusedError(`${name}: permission denied (${deniedAt} is not executable)`);
	throw new NotFoundError(`${name}: command not found`);
}

/**
 * Refuse `file` (the resolved path of what the user typed as `shown`) unless
 * it can run under ckpt, else say which libc's loader the kernel starts for
 * it (a script's: its interpreter's), so the matching libckpt is preloaded.
 * Reads only the first bytes, the program headers and the loader's name.
 */
export function checkProgram(file: string, shown: string, pathEnv: string | undefined, cwd: string): Libc {
	const verdict = programProblem(file, pathEnv, cwd, 0);
	if ("libc" in verdict) return verdict.libc;
	if (verdict.missing) throw new NotFoundError(`${shown}: ${verdict.reason}`);
	throw new RefusedError(`${shown}: ${verdict.reason}`);
}

interface Problem {
	reason: string;
	missing?: boolean; // the program itself does not exist: exit 127
}

/** No problem: the program runs, under the loader of this libc. */
interface Runs {
	libc: Libc;
}

function programProblem(file: string, pathEnv: string | undefined, cwd: string, depth: number): Problem | Runs {
	const st = statPath(file);
	if (!st) return { reason: "no such file or directory", missing: true };
	if (isDirectory(st)) return { reason: "is a directory" };
	if (!isRegular(st)) return { reason: "not a regular file" };
	if (!accessible(file, X_OK)) return { reason: "permission denied (not executable)" };

	const head = readRange(file, 0, 4096);
	if (!head) return { reason: "not readable, so ckpt cannot check what it is" };
	switch (fileKind(head)) {
		case "elf": return elfProblem(file, st, head);
		case "script": return scriptProblem(head, pathEnv, cwd, depth);
		case "other": return { reason: "not an ELF executable or a #! script" };
	}
}

function elfProblem(file: string, st: FileStat, head: Uint8Array): Problem | Runs {
	// Only ELF files matter here: the kernel ignores set-id bits on scripts.
	// S_ISGID without group-execute means mandatory locking, not setgid.
	const setgid = (st.mode & 0o2010) === 0o2010;
	if ((st.mode & 0o4000) !== 0 || setgid)
		return { reason: `is ${setgid ? "setgid" : "setuid"}; the dynamic loader ignores LD_PRELOAD for such programs, so ckpt cannot work` };
	if (hasFileCapabilities(file))
		return { reason: "has file capabilities (getcap shows them); the dynamic loader ignores LD_PRELOAD for such programs, so ckpt cannot work" };
	const h = parseElfHeader(head);
	if (typeof h === "string") return { reason: h };
	const range = programHeaderRange(h);
	if (range.length > 1 << 16) return { reason: "unusual ELF (too many program headers)" };
	const bytes = bytesOf(file, head, range);
	if (!bytes) return { reason: "not readable, so ckpt cannot check what it is" };
	const interp = parseProgramHeaders(h, bytes).find((p) => p.type === PT_INTERP);
	if (!interp)
		return { reason: "statically linked; ckpt loads itself through the dynamic loader (LD_PRELOAD), so it needs a dynamically linked program (build it without -static)" };
	const name = bytesOf(file, head, interpreterRange(interp));
	if (!name) return { reason: "not readable, so ckpt cannot check what it is" };
	const loader = new TextDecoder().decode(name).replace(/\0[\s\S]*$/, "");
	const libc = loaderLibc(loader);
	if (!libc)
		return { reason: `its loader ${loader} is neither glibc's nor musl's; ckpt preloads itself through one of those, so it needs a program linked with glibc or musl` };
	return { libc };
}

/**
 * Whether `file` (a /proc/PID/exe) is an ELF program without a loader,
 * which nothing preloads libckpt into; false when it cannot be read. A
 * loader run as a program (`ld-linux-x86-64.so.2 ./prog`) has none of its
 * own either, but loads libckpt: `name`, the link's target, tells it.
 */
export function staticallyLinked(file: string, name: string): boolean {
	if (loaderLibc(name)) return false;
	const head = readRange(file, 0, 4096);
	if (!head || fileKind(head) !== "elf") return false;
	const h = parseElfHeader(head);
	if (typeof h === "string") return false;
	const bytes = bytesOf(file, head, programHeaderRange(h));
	return bytes !== null && !isDynamic(parseProgramHeaders(h, bytes));
}

/** `range` of `file`, from the bytes already read when they hold it. */
function bytesOf(file: string, head: Uint8Array, range: { offset: number; length: number }): Uint8Array | null {
	const fits = range.offset + range.length <= head.length;
	return fits ? head.subarray(range.offset, range.offset + range.length) : readRange(file, range.offset, range.length);
}

function scriptProblem(head: Uint8Array, pathEnv: string | undefined, cwd: string, depth: number): Problem | Runs {
	const shebang = parseShebang(head);
	if (!shebang) return { reason: "empty #! line" };
	if (depth + 1 >= MAX_INTERPRETER_DEPTH) return { reason: "too many levels of #! interpreters" };
	const interp = resolvePath(cwd, shebang.interpreter);
	const inner = programProblem(interp, pathEnv, cwd, depth + 1);
	if (!("libc" in inner)) return { reason: `bad interpreter ${shebang.interpreter}: ${inner.reason}` };

	const target = envTarget(shebang);
	if (!target) return inner;
	let found: string;
	try {
		found = resolveProgram(target, pathEnv, cwd);
	} catch {
		return { reason: `bad interpreter ${shebang.interpreter} ${target}: ${target} not found on PATH` };
	}
	const viaEnv = programProblem(found, pathEnv, cwd, depth + 1);
	return "libc" in viaEnv ? inner : { reason: `bad interpreter ${target} (${found}): ${viaEnv.reason}` };
}
