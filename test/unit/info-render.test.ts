import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImage } from "../../src/image/read.ts";
import { CKPT_VERSION } from "../../src/image/format.ts";
import { fdFlags, perms } from "../../src/image/facts.ts";
import { cpuList, renderInfo } from "../../src/image/render.ts";
import { age, bytes, shellQuote, table } from "../../src/cli/text.ts";
import { buildImage } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-info-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("text helpers", () => {
	expect(bytes(0)).toBe("0 B");
	expect(bytes(1536)).toBe("1.5 KiB");
	expect(bytes(3n * 1024n * 1024n)).toBe("3.0 MiB");
	expect(age(0, 30_000)).toBe("just now");
	expect(age(0, 60_000)).toBe("1 minute ago");
	expect(age(0, 3 * 3600_000 + 5)).toBe("3 hours ago");
	expect(age(0, 2 * 86400_000)).toBe("2 days ago");
	expect(shellQuote("-u")).toBe("-u");
	expect(shellQuote("a b")).toBe("'a b'");
	expect(shellQuote("it's")).toBe("'it'\\''s'");
	expect(table([["FD", "PATH"], ["3", "/tmp/x"], ["10", "y"]], [0])).toBe("  FD  PATH\n   3  /tmp/x\n  10  y");
});

test("CPU lists read as taskset -c takes them", () => {
	expect(cpuList([1])).toBe("1");
	expect(cpuList([0, 1])).toBe("0,1");
	expect(cpuList([0, 1, 2, 3, 6, 9, 10])).toBe("0-3,6,9,10");
	expect(cpuList([])).toBe("none");
});

test("the summary of an image", () => {
	const p = join(dir, "img.dat");
	writeFileSync(p, buildImage());
	const image = readImage(p);
	const created = Number(image.header.createdNs / 1_000_000n);
	const text = renderInfo(image, created + 2 * 3600_000);
	expect(text).toContain(`image      ${p} (format version ${CKPT_VERSION})`);
	expect(text).toMatch(/^ +TID +NAME +RIP +RSP +FS_BASE +CPUS\n +4242 +- +0x401000 +0x7ffd00001000 +0x7f0000001000 +0-3,8$/m);
	expect(text).toMatch(/^libc +glibc$/m);
	expect(text).toContain("program    /usr/bin/demo");
	expect(text).toContain("arguments  demo --count 3");
	expect(text).toContain("(2 hours ago)");
	expect(text).toContain("capture    12.3 ms, on signal SIGUSR2 (12)");
	expect(text).toContain("cwd        /home/user");
	expect(text).toMatch(/4242\s+-\s+0x401000\s+0x7ffd00001000\s+0x7f0000001000/);
	expect(text).toMatch(/0x400000-0x402000\s+r-xp\s+8\.0 KiB\s+file\s+4\.0 KiB\s+-\s+4\.0 KiB\s+-\s+\/usr\/bin\/demo/);
	expect(text).toMatch(/0x600000-0x605000\s+rw-p\s+20\.0 KiB\s+anon\s+8\.0 KiB\s+12\.0 KiB\s+-\s+-\s+\[heap\]/);
	expect(text).toContain("[stack]");
	expect(text).toContain("pages      every page (a stop, or a first --continue: nothing was tracked)");
	expect(text).toMatch(/\[vvar_vclock\]\s+absent/);
	expect(text).toMatch(/\[vdso\]\s+0x7ffd10004000-0x7ffd10006000\s+8\.0 KiB/);
	expect(text).toMatch(/3\s+file\s+O_RDONLY\s+10\s+\/tmp\/out\.txt/);
	expect(text).toMatch(/4\s+pipe read\s+O_RDONLY\s+-\s+pipe \(12 B unread\)/);
	expect(text).toMatch(/memory data\s+20\.0 KiB stored of 36\.0 KiB mapped/);
});

test("permissions and fd flags", () => {
	const r = { prot: 7, kind: 4 } as Parameters<typeof perms>[0];
	expect(perms(r)).toBe("rwxs");
	const f = { openFlags: 0o2001 | 0o4000, fdFlags: 1 } as Parameters<typeof fdFlags>[0];
	expect(fdFlags(f)).toBe("O_WRONLY|O_APPEND|O_NONBLOCK|cloexec");
});
