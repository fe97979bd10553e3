/**
 * The image reader on images real runs produced: a program with threads is
 * launched under ckpt (`bun src/cli.ts`), checkpointed through
 * requestCheckpoint (the code behind `ckpt checkpoint PID`), and its image
 * must describe that very process. Then every way of damaging it
 * (truncation anywhere, any header or table byte changed, a data byte
 * changed) gives an ImageError, never a crash or a wrong answer.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requestCheckpoint } from "../../src/protocol/checkpoint-request.ts";
import { CKPT_HEADER_SIZE, CKPT_REGION_STACK, HEADER_STRUCT_SIZE } from "../../src/image/format.ts";
import { ImageError, type Image, readImage, verifyData } from "../../src/image/read.ts";

const ROOT = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "ckpt-real-"));
const program = join(dir, "threads-count");
const imagePath = join(dir, "real.dat");
let child: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
let image: Image;
let bytes: Buffer;

beforeAll(async () => {
	// A private copy: the demos may be rebuilt while this runs.
	copyFileSync(join(ROOT, "build/demos/threads-count"), program);
	const proc = Bun.spawn([process.execPath, join(ROOT, "src/cli.ts"), "--continue", "--image", imagePath, program, "3", "100000"], {
		cwd: dir,
		env: { ...process.env, XDG_CACHE_HOME: join(dir, "cache") },
		stdin: "ignore", stdout: "pipe", stderr: "pipe",
	});
	child = proc;
	const reader = proc.stdout.getReader();
	const first = await reader.read(); // a round has been counted: threads exist
	if (first.done) throw new Error(`the program ended early: ${await new Response(proc.stderr).text()}`);
	const result = await requestCheckpoint(proc.pid, { keepRunning: false, timeoutMs: 20_000 });
	expect(result).toMatchObject({ pid: proc.pid, image: imagePath, stopped: false });
	image = readImage(imagePath);
	bytes = readFileSync(imagePath);
}, 30_000);

afterAll(() => {
	child?.kill("SIGKILL");
	rmSync(dir, { recursive: true, force: true });
});

function expectRefused(name: string, data: Uint8Array, why?: RegExp): void {
	const p = join(dir, name);
	writeFileSync(p, data);
	try {
		readImage(p);
	} catch (e) {
		expect(e).toBeInstanceOf(ImageError);
		expect((e as Error).message).not.toContain("\n");
		if (why) expect((e as Error).message).toMatch(why);
		return;
	}
	throw new Error(`${name} was accepted`);
}

test("the image describes the process that was running", () => {
	const pid = child!.pid;
	expect(image.header.pid).toBe(pid);
	expect(image.exe).toBe(program);
	expect(image.argv).toEqual([program, "3", "100000"]);
	expect(image.cwd).toBe(dir);
	expect(image.header.comm).toBe("threads-count");
	expect(image.fileSize).toBe(statSync(imagePath).size);
	expect(image.threads.length).toBe(4); // main + 3 workers
	expect(image.threads[0]!.tid).toBe(pid); // the leader comes first
	expect(new Set(image.threads.map((t) => t.fsBase)).size).toBe(4); // each its own TLS
	expect(image.fds.map((f) => f.fd).slice(0, 3)).toEqual([0, 1, 2]);
});

test("regions are sorted, disjoint, tiled by their extents, and hold every thread's place", () => {
	for (let i = 1; i < image.regions.length; i++) expect(image.regions[i]!.start >= image.regions[i - 1]!.end).toBe(true);
	for (const r of image.regions) expect(r.extents.reduce((n, e) => n + BigInt(e.len), 0n)).toBe(r.end - r.start);
	const holding = (addr: bigint) => image.regions.find((r) => r.start <= addr && addr < r.end);
	for (const t of image.threads) {
		expect(holding(t.userRip)!.prot & 4).toBe(4); // executable
		expect(holding(t.userRsp)!.prot & 2).toBe(2); // writable stack
		expect(holding(t.fsBase)).toBeDefined();
	}
	expect(holding(image.threads[0]!.userRsp)!.kind).toBe(CKPT_REGION_STACK);
	expect(image.regions.some((r) => r.path === program)).toBe(true);
	expect(verifyData(image).items).toBeGreaterThan(0);
});

test("truncated anywhere: refused", () => {
	const cuts = [0, 7, 8, 100, HEADER_STRUCT_SIZE, CKPT_HEADER_SIZE, image.header.tablesOffset + 1,
		image.header.dataOffset, bytes.length - 4096, bytes.length - 1];
	for (const cut of cuts) expectRefused(`cut-${cut}.dat`, bytes.subarray(0, cut), /truncated|empty file|bad magic/);
});

test("any header or table byte changed: refused", () => {
	const tablesEnd = image.header.tablesOffset + image.header.tablesSize;
	for (let at = 0; at < tablesEnd; at += at < HEADER_STRUCT_SIZE ? 61 : 509) {
		if (at >= HEADER_STRUCT_SIZE && at < image.header.tablesOffset) continue; // header padding, covered by nothing
		const damaged = Buffer.from(bytes);
		damaged[at]! ^= 0x5a;
		expectRefused("flipped.dat", damaged);
	}
});

test("a data byte changed: the header still reads, verification names the place", () => {
	const extent = image.regions.flatMap((r) => r.extents).find((e) => e.dataOffset > 0)!;
	const damaged = Buffer.from(bytes);
	damaged[extent.dataOffset + 100]! ^= 1;
	const p = join(dir, "data-flip.dat");
	writeFileSync(p, damaged);
	expect(() => verifyData(readImage(p))).toThrow(`memory at 0x${extent.start.toString(16)}`);
});
