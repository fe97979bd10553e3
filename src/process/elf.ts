/**
 * Just enough ELF and `#!` parsing to tell, before exec, whether a program
 * can run under ckpt: it must be a 64-bit x86-64 ELF that asks for a
 * dynamic loader (PT_INTERP), because the loader is what honours LD_PRELOAD
 * and so brings libckpt in. Pure functions over bytes; the file access is in
 * program.ts.
 */

export const EM_X86_64 = 62;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_INTERP = 3;

/** How many leading bytes the kernel looks at for `#!` (BINPRM_BUF_SIZE). */
export const SHEBANG_MAX = 256;

export interface ElfHeader {
	type: number; // e_type
	machine: number; // e_machine
	phoff: number; // e_phoff
	phentsize: number;
	phnum: number;
}

export interface ProgramHeader {
	type: number; // p_type
	offset: number;
	filesz: number;
}

export type FileKind = "elf" | "script" | "other";

export function fileKind(head: Uint8Array): FileKind {
	if (head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return "elf";
	if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return "script";
	return "other";
}

/**
 * Parse an ELF64 little-endian header. Returns a reason string when the file
 * is ELF but not something ckpt can run (32-bit, big-endian, another machine).
 *
 * @example parseElfHeader(readFileSync("/bin/true")) // { type: 3, machine: 62, ... }
 */
export function parseElfHeader(head: Uint8Array): ElfHeader | string {
	if (fileKind(head) !== "elf") return "not an ELF file";
	if (head.length < 64) return "truncated ELF header";
	if (head[4] !== 2) return "a 32-bit program (ckpt supports 64-bit x86-64 only)";
	if (head[5] !== 1) return "a big-endian program (ckpt supports x86-64 only)";
	const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
	const h: ElfHeader = {
		type: v.getUint16(16, true),
		machine: v.getUint16(18, true),
		phoff: safe(v.getBigUint64(32, true)),
		phentsize: v.getUint16(54, true),
		phnum: v.getUint16(56, true),
	};
	if (h.machine !== EM_X86_64) return `not an x86-64 program (ELF machine ${h.machine})`;
	if (h.type !== ET_EXEC && h.type !== ET_DYN) return `not an executable (ELF type ${h.type})`;
	if (h.phentsize < 56 || h.phnum === 0 || h.phnum === 0xffff) return "no usable program headers";
	return h;
}

/** The byte range holding the program headers, for reading them. */
export function programHeaderRange(h: ElfHeader): { offset: number; length: number } {
	return { offset: h.phoff, length: h.phnum * h.phentsize };
}

/** Decode the program headers from the bytes of programHeaderRange(h). */
export function parseProgramHeaders(h: ElfHeader, bytes: Uint8Array): ProgramHeader[] {
	const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const out: ProgramHeader[] = [];
	for (let i = 0; i < h.phnum && (i + 1) * h.phentsize <= bytes.length; i++) {
		const at = i * h.phentsize;
		out.push({
			type: v.getUint32(at, true),
			offset: safe(v.getBigUint64(at + 8, true)),
			filesz: safe(v.getBigUint64(at + 32, true)),
		});
	}
	return out;
}

/** Static programs (including static-pie) have no PT_INTERP: no loader, no LD_PRELOAD. */
export function isDynamic(phdrs: ProgramHeader[]): boolean {
	return phdrs.some((p) => p.type === PT_INTERP);
}

/** The C library whose dynamic loader a program asks for; ckpt has a libckpt for each. */
export type Libc = "glibc" | "musl";

/** The loader path of PT_INTERP `p`, from the bytes of `file`. */
export function interpreterRange(p: ProgramHeader): { offset: number; length: number } {
	return { offset: p.offset, length: Math.min(p.filesz, 4096) };
}

/**
 * Which libc a loader path belongs to, by its name wherever installed
 * (/lib64, /lib, a Nix store): glibc's ld-linux-x86-64.so.2, musl's
 * ld-musl-x86_64.so.1; null for any other. c/lib/exec_target.c decides
 * the same way for execs in place.
 *
 * @example loaderLibc("/lib/ld-musl-x86_64.so.1") // "musl"
 */
export function loaderLibc(interp: string): Libc | null {
	const base = interp.slice(interp.lastIndexOf("/") + 1);
	if (base.startsWith("ld-musl-")) return "musl";
	if (base.startsWith("ld-linux-")) return "glibc";
	return null;
}

export interface Shebang {
	interpreter: string;
	arg?: string; // Linux passes everything after the interpreter as one argument
}

/**
 * Parse a `#!` line the way Linux does: within the first SHEBANG_MAX bytes,
 * the interpreter is the first word, and the rest of the line (trimmed) is a
 * single optional argument.
 *
 * @example parseShebang(bytes("#!/usr/bin/env python3\n")) // { interpreter: "/usr/bin/env", arg: "python3" }
 */
export function parseShebang(head: Uint8Array): Shebang | null {
	if (fileKind(head) !== "script") return null;
	const text = new TextDecoder().decode(head.subarray(2, SHEBANG_MAX));
	const nl = text.indexOf("\n");
	const line = (nl < 0 ? text : text.slice(0, nl)).replace(/^[ \t]+/, "").replace(/[ \t\r]+$/, "");
	const m = line.match(/^(\S+)(?:[ \t]+(.*))?$/);
	if (!m) return null;
	return m[2] ? { interpreter: m[1]!, arg: m[2] } : { interpreter: m[1]! };
}

/**
 * For `#!/usr/bin/env [-S] NAME ...`, the program env will look up on PATH:
 * the first word that is not an option or a VAR=value assignment.
 */
export function envTarget(shebang: Shebang): string | null {
	if (!/(^|\/)env$/.test(shebang.interpreter) || !shebang.arg) return null;
	for (const word of shebang.arg.split(/[ \t]+/)) {
		if (word.startsWith("-") || word.includes("=")) continue;
		return word;
	}
	return null;
}

function safe(v: bigint): number {
	return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
