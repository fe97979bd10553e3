// NUMA memory policies: each thread's and each region's (mbind) come back
// (c/stub/mempolicy.c). test/fixtures/memory-policy.c checks its policies
// from inside after the restart.
import { expect, test } from "bun:test";
import type { FileSink } from "bun";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const PROGRAM = fixture("memory-policy");
const go = (run: ReturnType<typeof spawn>) => {
	const stdin = run.proc.stdin as FileSink;
	stdin.write("go\n");
	stdin.flush();
};
// A kernel without NUMA support answers ENOSYS: the fixture's probe fails.
const numa = Bun.spawnSync([PROGRAM, "probe"], { stdin: "ignore" }).exitCode === 0;
if (!numa) console.warn("memory-policy.test.ts: this kernel has no NUMA memory policies (get_mempolicy: ENOSYS); skipped");

test.skipIf(!numa)("each thread's memory policy comes back: interleave on the main thread, a static bind on the other", async () => {
	const run = spawn([CKPT, PROGRAM, "threads"], { cwd: dir, stdin: "pipe" });
	await run.waitFor((out) => (out.match(/ready\n/g) ?? []).length >= 2);
	expect(run.stdout).toContain("main policy 0x3 nodes 0x1\n");
	expect(run.stdout).toContain("thread policy 0x8002 nodes 0x1\n");
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);

	const info = JSON.parse(Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir }).stdout.toString());
	expect(info.threads.map((t: { memoryPolicy: unknown }) => t.memoryPolicy)).toEqual([
		{ mode: "interleave", flags: [], nodes: [0] }, { mode: "bind", flags: ["static-nodes"], nodes: [0] }]);

	const after = spawn([CKPT, "restart"], { cwd: dir, stdin: "pipe" });
	go(after);
	expect(await after.exit()).toBe(0);
	expect(after.stderr).toBe("");
	expect(after.stdout).toBe("same main\nsame thread\nPASS\n");
}, 60000);

test.skipIf(!numa)("a region's own memory policy (mbind) comes back, its data with it", async () => {
	const run = spawn([CKPT, PROGRAM, "mbind"], { cwd: dir, stdin: "pipe" });
	await run.waitFor((out) => (out.match(/ready\n/g) ?? []).length >= 2);
	expect(run.stdout).toContain("region policy 0x8003 nodes 0x1\n");
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const info = JSON.parse(Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir }).stdout.toString());
	expect(info.regions.filter((r: { memoryPolicy: { mode: string } }) => r.memoryPolicy.mode !== "default").map((r: { memoryPolicy: unknown }) => r.memoryPolicy))
		.toEqual([{ mode: "interleave", flags: ["static-nodes"], nodes: [0] }]);

	const after = spawn([CKPT, "restart"], { cwd: dir, stdin: "pipe" });
	go(after);
	expect(await after.exit()).toBe(0);
	expect(after.stderr).toBe("");
	expect(after.stdout).toBe("same main\nsame region\nsame thread\nPASS\n");
}, 60000);
