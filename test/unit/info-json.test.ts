import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImage } from "../../src/image/read.ts";
import { infoJson, SCHEMA_VERSION } from "../../src/image/json.ts";
import { CKPT_EXTENT_DATA, CKPT_EXTENT_GUARD, CKPT_VERSION } from "../../src/image/format.ts";
import { renderInfo } from "../../src/image/render.ts";
import { buildImage, defaultSpec } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function json() {
	const p = join(dir, "img.dat");
	writeFileSync(p, buildImage());
	// Through a JSON round trip, exactly as a script would see it.
	return { p, doc: JSON.parse(JSON.stringify(infoJson(readImage(p)))) };
}

test("program, when and where", () => {
	const { p, doc } = json();
	expect(doc.schemaVersion).toBe(SCHEMA_VERSION);
	expect(doc.image).toEqual({ path: p, formatVersion: CKPT_VERSION, size: readFileSync(p).length, compression: "none" });
	expect(doc.program).toEqual({ exe: "/usr/bin/demo", argv: ["demo", "--count", "3"], comm: "demo", cwd: "/home/user" });
	expect(doc.pid).toBe(4242);
	expect(doc.tree).toBeNull(); // a single process (test/unit/tree-info.test.ts has trees)
	expect(doc.taken).toMatchObject({ captureNs: 12_345_678, signal: 12, host: "testhost", kernel: "6.1.0-test", libc: "glibc" });
	expect(doc.taken.time).toBe("2023-11-14T22:13:20.000Z");
});

test("threads, regions with their storage, kernel mappings, files, totals", () => {
	const { doc } = json();
	expect(doc.threads).toEqual([{ tid: 4242, name: "", rip: "0x401000", rsp: "0x7ffd00001000", fsBase: "0x7f0000001000", cpus: [0, 1, 2, 3, 8], parentDeathSignal: null,
		scheduling: { nice: 0, policy: "other", priority: 0, resetOnFork: false, ioClass: "none", ioLevel: 0, timerSlackNs: 0 },
		credentials: { uids: { real: 0, effective: 0, saved: 0, filesystem: 0 }, gids: { real: 0, effective: 0, saved: 0, filesystem: 0 },
			capabilities: { effective: "0x0", permitted: "0x0", inheritable: "0x0", bounding: "0x0", ambient: "0x0" }, securebits: 0 },
		memoryPolicy: { mode: "default", flags: [], nodes: [] }, rdtscFaults: false, machineCheckKill: "default" }]);
	expect(doc.regions[0]).toEqual({
		start: "0x400000", end: "0x402000", size: 8192, perms: "r-xp", kind: "file", name: "/usr/bin/demo", fileOffset: 0, sysvSegment: null,
		threadStack: false, unreadable: false, vmFlags: [], memoryPolicy: { mode: "default", flags: [], nodes: [] }, stored: { data: 4096, zero: 0, file: 4096, guard: 0, older: 0 },
		extents: [{ start: "0x400000", size: 4096, storage: "file" }, { start: "0x401000", size: 4096, storage: "data" }],
	});
	expect(doc.regions[1]).toMatchObject({ name: "[heap]", kind: "anon", fileOffset: null, stored: { data: 8192, zero: 12288, file: 0 } });
	expect(doc.regions[2]).toMatchObject({ name: "[stack]", kind: "stack" });
	expect(doc.kernelMappings).toEqual([
		{ name: "[vvar]", start: "0x7ffd10000000", end: "0x7ffd10004000" },
		{ name: "[vvar_vclock]", start: null, end: null },
		{ name: "[vdso]", start: "0x7ffd10004000", end: "0x7ffd10006000" },
	]);
	expect(doc.files).toEqual([
		{ fd: 0, kind: "inherited", flags: "O_RDONLY", path: "", offset: null, unreadBytes: null, storedBytes: null, sameFileAs: null, sharedWith: null, opensAgain: null, locks: [], terminalModes: null, eventfd: null, signalfd: null, timerfd: null, socket: null, watches: null, inotify: null },
		{ fd: 3, kind: "file", flags: "O_RDONLY", path: "/tmp/out.txt", offset: 10, unreadBytes: null, storedBytes: null, sameFileAs: null, sharedWith: null, opensAgain: null, locks: [], terminalModes: null, eventfd: null, signalfd: null, timerfd: null, socket: null, watches: null, inotify: null },
		{ fd: 4, kind: "pipe-read", flags: "O_RDONLY", path: "", offset: null, unreadBytes: 12, storedBytes: null, sameFileAs: null, sharedWith: null, opensAgain: null, locks: [], terminalModes: null, eventfd: null, signalfd: null, timerfd: null, socket: null, watches: null, inotify: null },
	]);
	expect(doc.totals).toEqual({ imageSize: doc.image.size, memoryMapped: 36864, memoryStored: 20480, memoryCompressed: 20480, pipeData: 12, fileData: 0 });
});

test("every address is a 0x string, every size a number", () => {
	const { doc } = json();
	const addresses = [
		...doc.threads.flatMap((t: Record<string, string>) => [t.rip, t.rsp, t.fsBase]),
		...doc.regions.flatMap((r: { start: string; end: string }) => [r.start, r.end]),
	];
	for (const a of addresses) expect(a).toMatch(/^0x[0-9a-f]+$/);
	for (const r of doc.regions) expect(typeof r.size).toBe("number");
});

test("guard pages: their own storage, counted apart, named in the human table", () => {
	const spec = defaultSpec();
	spec.regions[1]!.extents = [{ pages: 1, kind: CKPT_EXTENT_DATA, fill: 1 }, { pages: 2, kind: CKPT_EXTENT_GUARD },
		{ pages: 2, kind: CKPT_EXTENT_DATA, fill: 2 }];
	const p = join(dir, "guard.dat");
	writeFileSync(p, buildImage(spec));
	const doc = JSON.parse(JSON.stringify(infoJson(readImage(p))));
	expect(doc.regions[1].stored).toEqual({ data: 12288, zero: 0, file: 0, guard: 8192, older: 0 });
	expect(doc.regions[1].extents[1]).toEqual({ start: "0x601000", size: 8192, storage: "guard" });
	expect(renderInfo(readImage(p), Date.now())).toMatch(/0x600000-0x605000 .*\[heap\] \(guard pages: 8\.0 KiB\)$/m);
});
