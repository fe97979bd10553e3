// Signals pending at the checkpoint (sent, not yet delivered) come back
// pending, with their siginfo, on the same thread, and a program that runs
// on after the checkpoint keeps them. test/fixtures/pending-signals.c sends them to
// itself, checks from inside what it receives after the restart (or after
// --continue) and prints one line per signal, then PASS.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_HEADER_SIZE, CKPT_THREAD_COORDINATOR, HEADER, PROCESS_STATE, SIGNAL } from "../../src/image/format.ts";
import { reseal } from "../fuzz/mutate.ts";
import { readImage } from "../../src/image/read.ts";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const PROGRAM = fixture("pending-signals");

// In the kernel's delivery order: the main thread's own queue, then the
// process's (lowest signal first, each real-time queue in order); then the
// second thread's own, caught by a handler (which sees SI_TKILL as such).
const RECEIVED = [
	"main got 36 code -1 from self value 201",
	"main got 10 code 0 from self value -1",
	"main got 17 code 0 from self value -1",
	"main got 36 code -1 from self value 101",
	"main got 36 code -1 from self value 102",
	"main got 36 code -1 from self value 103",
	"main got 38 code -2 from timer value 55",
	"worker got 10 code -6 from self value -1",
	"worker got 37 code -1 from self value 77",
].join("\n");

function received(out: string): string {
	return out.split("\n").filter((l) => / got /.test(l)).join("\n");
}

async function checkpointed(args: string[]) {
	const run = ckpt([PROGRAM, join(dir, "go"), ...args], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stderr).toContain("checkpoint written");
	return run;
}

async function restartAndCheck() {
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toContain("restarted\n");
	expect(received(rest.stdout)).toBe(RECEIVED);
	expect(rest.stdout).toContain("9 of 9 received\nPASS\n");
	expect(rest.code).toBe(0);
}

test("pending signals come back with their siginfo, process-wide and per thread, in order", async () => {
	const run = await checkpointed([]);
	const pid = run.pid;

	// `ckpt info` counts them per signal and lists each with its target and siginfo.
	const info = await runToEnd([CKPT, "info"], { cwd: dir });
	expect(info.code).toBe(0);
	expect(info.stdout).toContain("pending signals (9: SIGUSR1 (10) x2, SIGCHLD (17) x1, 36 x4, 37 x1, 38 x1; queued again at restart):");
	expect(info.stdout).toMatch(/^ +SIGUSR1 \(10\) +thread \d+ \(#1\) +SI_TKILL +pid \d+ uid \d+ +-$/m);
	expect(info.stdout).toMatch(/^ +37 +thread \d+ \(#1\) +SI_QUEUE .* 0x4d$/m);
	expect(info.stdout).toMatch(new RegExp(`^ +36 +thread ${pid} \\(#0\\) +SI_QUEUE +pid ${pid} uid \\d+ +0xc9$`, "m"));
	expect(info.stdout).toMatch(/^ +38 +the process +SI_TIMER +timer \d+, overrun 0 +0x37$/m);
	const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
	expect(json.signals.map((s: { signal: number; value: string | null }) => `${s.signal}:${s.value}`)).toEqual([
		"10:null", "37:0x4d", "36:0xc9", "10:null", "17:null", "36:0x65", "36:0x66", "36:0x67", "38:0x37",
	]);

	await restartAndCheck();
}, 60000);

test("when another thread takes the request, the stopped main thread reads the process's queue", async () => {
	await checkpointed(["worker-takes-it"]);
	const image = readImage(join(dir, "myckpt.dat"));
	// The proof this path ran: the coordinator is not the leader (thread 0).
	expect(image.threads[0]!.flags & CKPT_THREAD_COORDINATOR).toBe(0);
	expect(image.threads.some((t) => t.flags & CKPT_THREAD_COORDINATOR)).toBe(true);
	expect(image.signals.length).toBe(9);
	await restartAndCheck();
}, 60000);

/** Lets a program that ran on after a checkpoint go, and checks it got every signal. */
async function runsOnAndReceivesAll(run: Running) {
	writeFileSync(join(dir, "go"), "");
	expect(await run.exit()).toBe(0);
	expect(run.stdout).toContain("continued\n");
	expect(received(run.stdout)).toBe(RECEIVED);
	expect(run.stdout).toContain("9 of 9 received\nPASS\n");
}

test("--continue: the signals read for the checkpoint are queued again at once; the program receives them all", async () => {
	const run = ckpt([PROGRAM, join(dir, "go")], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	const cp = await runToEnd([CKPT, "checkpoint", "--continue", String(run.pid)], { cwd: dir });
	expect(cp.code).toBe(0);
	expect(readImage(join(dir, "myckpt.dat")).signals.length).toBe(9);
	await runsOnAndReceivesAll(run);
}, 60000);

test("a checkpoint refused after the signals were read leaves them all queued; the program receives them", async () => {
	const run = ckpt([PROGRAM, join(dir, "go"), "with-child"], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	const cp = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
	expect(cp.code).toBe(1);
	expect(cp.stderr).toMatch(/checkpoint of \d+ failed: process \d+ \(pending-signals\) is stopped/);
	await runsOnAndReceivesAll(run);
}, 60000);

test("a signal record out of range (checksums recomputed) is refused by the reader and by the restart, before teardown", async () => {
	await checkpointed([]);
	const path = join(dir, "myckpt.dat");
	const original = new Uint8Array(readFileSync(path));
	const signalsOff = new DataView(original.buffer).getUint32(HEADER.fields.process.off + PROCESS_STATE.fields.signals_off.off, true);
	const first = CKPT_HEADER_SIZE + signalsOff; // SIGUSR1 for thread #1
	for (const [field, value, reader, stub] of [
		["signo", 9, "pending signal 0: signal 9 cannot be pending", "pending signal 9: not a signal that can be pending"],
		["thread", 7, "pending signal 0 (signal 10): its thread 7 is out of range", "pending signal 10: its thread is out of range"],
	] as const) {
		const img = original.slice();
		new DataView(img.buffer).setUint32(first + SIGNAL.fields[field].off, value, true);
		reseal(img);
		writeFileSync(path, img, { mode: 0o600 });
		const info = await runToEnd([CKPT, "info"], { cwd: dir });
		expect(info.stderr).toContain(`${reader} (corrupt image)`);
		expect(info.code).toBe(1);
		const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
		expect(rest.stdout).toBe("");
		expect(rest.stderr).toBe(`ckpt: cannot restart ${path}: ${stub} (corrupt image)\n`);
		expect(rest.code).toBe(1);
	}
}, 60000);
