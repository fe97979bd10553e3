import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
	envTarget, fileKind, isDynamic, loaderLibc, parseElfHeader, parseProgramHeaders, parseShebang, programHeaderRange,
	type ElfHeader,
} from "../../src/process/elf.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A minimal ELF64 header with `phnum` program headers of the given types right after it. */
function elf(opts: { cls?: number; machine?: number; type?: number; phdrTypes?: number[] } = {}): Uint8Array {
	const types = opts.phdrTypes ?? [6, 3, 1];
	const b = new Uint8Array(64 + 56 * types.length);
	const v = new DataView(b.buffer);
	b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 2, 1, 1]);
	v.setUint16(16, opts.type ?? 3, true);
	v.setUint16(18, opts.machine ?? 62, true);
	v.setBigUint64(32, 64n, true);
	v.setUint16(54, 56, true);
	v.setUint16(56, types.length, true);
	types.forEach((t, i) => v.setUint32(64 + 56 * i, t, true));
	return b;
}

function phdrs(b: Uint8Array) {
	const h = parseElfHeader(b) as ElfHeader;
	const r = programHeaderRange(h);
	return parseProgramHeaders(h, b.subarray(r.offset, r.offset + r.length));
}

test("file kinds", () => {
	expect(fileKind(elf())).toBe("elf");
	expect(fileKind(text("#!/bin/sh\n"))).toBe("script");
	expect(fileKind(text("hello"))).toBe("other");
	expect(fileKind(new Uint8Array(0))).toBe("other");
});

test("a dynamic x86-64 ELF", () => {
	expect(parseElfHeader(elf())).toMatchObject({ type: 3, machine: 62, phoff: 64, phnum: 3 });
	expect(isDynamic(phdrs(elf()))).toBe(true);
});

test("a static ELF has no PT_INTERP", () => {
	expect(isDynamic(phdrs(elf({ phdrTypes: [1, 1, 4] })))).toBe(false);
});

test("ELF files ckpt cannot run", () => {
	expect(parseElfHeader(elf({ cls: 1 }))).toMatch(/32-bit/);
	expect(parseElfHeader(elf({ machine: 183 }))).toBe("not an x86-64 program (ELF machine 183)");
	expect(parseElfHeader(elf({ type: 1 }))).toBe("not an executable (ELF type 1)");
	expect(parseElfHeader(elf({ phdrTypes: [] }))).toBe("no usable program headers");
	expect(parseElfHeader(elf().subarray(0, 40))).toBe("truncated ELF header");
});

test("the system's /bin/sh is a dynamic x86-64 ELF", () => {
	const b = readFileSync("/bin/sh");
	expect(isDynamic(phdrs(new Uint8Array(b)))).toBe(true);
});

test("shebang lines, as Linux splits them", () => {
	expect(parseShebang(text("#!/bin/sh\necho"))).toEqual({ interpreter: "/bin/sh" });
	expect(parseShebang(text("#! /usr/bin/python3 -u -O \r\n"))).toEqual({ interpreter: "/usr/bin/python3", arg: "-u -O" });
	expect(parseShebang(text("#!/usr/bin/env python3"))).toEqual({ interpreter: "/usr/bin/env", arg: "python3" });
	expect(parseShebang(text("#!\n"))).toBeNull();
	expect(parseShebang(text("echo"))).toBeNull();
});

test("the program #!/usr/bin/env looks up", () => {
	expect(envTarget({ interpreter: "/usr/bin/env", arg: "python3" })).toBe("python3");
	expect(envTarget({ interpreter: "/usr/bin/env", arg: "-S python3 -u" })).toBe("python3");
	expect(envTarget({ interpreter: "/usr/bin/env", arg: "-i FOO=1 node" })).toBe("node");
	expect(envTarget({ interpreter: "/usr/bin/env" })).toBeNull();
	expect(envTarget({ interpreter: "/bin/sh", arg: "-e" })).toBeNull();
});

test("the libc of a loader, by its name wherever it is installed", () => {
	expect(loaderLibc("/lib64/ld-linux-x86-64.so.2")).toBe("glibc");
	expect(loaderLibc("/nix/store/abc-glibc-2.38/lib/ld-linux-x86-64.so.2")).toBe("glibc");
	expect(loaderLibc("/lib/ld-musl-x86_64.so.1")).toBe("musl");
	expect(loaderLibc("/system/bin/linker64")).toBeNull();
});
