// Process trees, the moments and descriptors real programs hit (issue #14,
// docs/process-trees.md): a member caught between an exec and its new
// program's libckpt is waited for, not refused (a static child, or one
// that never loads libckpt, still is: at once, or at the deadline); a pipe
// end whose other end no process holds any more is kept as it is, its
// unread bytes then EOF for a reader, EPIPE for a writer, while one whose
// other end a process outside the tree holds stays refused; a recursive
// make's jobserver, shared by two makes, comes back whole.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, muslFixture, type Running, runToEnd, until } from "./harness.ts";
import { checkpointWhen, slowMakefile } from "./tree-runs.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

// tree-exec-loop's child execs itself without pause, so most requests find
// it in an exec, before its next libckpt (without the wait, about half of
// these checkpoints were refused as "runs without ckpt").
test("a child always between two programs: 20 checkpoints in a row each wait for its new program, none refused; the last, restarted, lets the child run on and end as it would have", async () => {
	const run = ckpt([fixture("tree-exec-loop")], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("started\n"));
	for (let i = 0; i < 20; i++) {
		const each = await runToEnd([CKPT, "checkpoint", String(run.pid), "--continue"], { cwd: dir });
		expect(each.stderr).toBe("");
		expect(each.code).toBe(0);
	}
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stdout).toBe("started\n");
	const rest = spawnRestart();
	writeFileSync(join(dir, "stop"), "");
	expect(await rest.exit()).toBe(0);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toBe("child ended: exit 0\n");
}, 90000);

/** The refusal of a checkpoint of `args` (tree-exec-loop blocked ...), once its child has exec'd PROGRAM. */
async function refusedWithChildBlocked(args: string[], execd: (pid: number) => boolean): Promise<string> {
	const run = ckpt([fixture("tree-exec-loop"), "blocked", ...args], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("started\n"));
	await until(() => childrenOf(run.pid).some(execd), () => run.stderr);
	const refused = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
	expect(refused.code).toBe(1);
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
	expect(run.proc.exitCode).toBe(null);
	return refused.stderr;
}

const childrenOf = (pid: number) =>
	readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
const commOf = (pid: number) => {
	try {
		return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
	} catch {
		return "";
	}
};

const staticProgram = muslFixture("count", "static");
test.skipIf(!staticProgram)("a static child holding the trigger blocked is refused at once as a program without ckpt: nothing would load libckpt in it", async () => {
	const stderr = await refusedWithChildBlocked([staticProgram!, "100000"], (p) => commOf(p) === "count-musl-stat");
	expect(stderr).toMatch(/^ckpt: checkpoint of \d+ failed: process \d+ \(count-musl-stat\) runs without ckpt \(.*\): checkpoint when it has ended; the program continues\n$/);
}, 90000);

test("a dynamic child exec'd without ckpt's LD_PRELOAD, the trigger blocked, is refused naming it once the answer deadline passes, the program running on", async () => {
	const stderr = await refusedWithChildBlocked(["/bin/sleep", "60"], (p) => commOf(p) === "sleep");
	expect(stderr).toMatch(/^ckpt: checkpoint of \d+ failed: process \d+ \(sleep\) holds the checkpoint signal blocked and had not loaded ckpt after 10 s \(started without ckpt's LD_PRELOAD by a raw execve, or by a loader that ignores it\): checkpoint when it has ended; the program continues\n$/);
}, 90000);

test("pipe ends whose other end no process holds: the restarted child reads the unread bytes then EOF, and its write fails with EPIPE", async () => {
	const run = ckpt([fixture("tree-orphan-pipes")], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
	const rest = spawnRestart();
	expect(await rest.exit()).toBe(10);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toBe(
		"PASS the read end gives the unread bytes, then EOF\n" +
			"PASS a write to the end with no reader fails with EPIPE\n" +
			"child exit 10\n",
	);
}, 90000);

test("a write end whose reader a process outside the tree holds is refused naming the child and the fd, the program running on", async () => {
	const run = ckpt([fixture("tree-orphan-pipes"), "outside"], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("ready\n"));
	const refused = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
	expect(refused.code).toBe(1);
	expect(refused.stderr).toMatch(/^ckpt: checkpoint of \d+ failed: process \d+ \(tree-orphan-pip\): fd 6 \(a pipe to another process\) was opened by the program and cannot be restored; .*; the program continues\n$/);
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
	expect(run.proc.exitCode).toBe(null);
}, 90000);

// A recursive make shares the jobserver pipe (--jobserver-auth=R,W in MAKEFLAGS) with the sub-make and the
// recipe's shell that runs it: one description held by three processes, its free tokens the unread bytes.
test("make -j2 running a sub-make that shares its jobserver, checkpointed mid-build: the restarted build finishes, every target built once", async () => {
	const targets = ["a", "b", "c", "d", "e", "f"];
	mkdirSync(join(dir, "sub"));
	writeFileSync(join(dir, "sub", "Makefile"), slowMakefile(targets));
	writeFileSync(join(dir, "Makefile"), "all:\n\t$(MAKE) -s -C sub\n");
	const before = await checkpointWhen(dir, [CKPT, "make", "-s", "-j2"], (o) => o.includes("built b\n"), running);
	const rest = spawnRestart();
	expect(await rest.exit()).toBe(0);
	expect(rest.stderr).toBe("");
	const built = (before + rest.stdout).split("\n").filter(Boolean).sort();
	expect(built).toEqual(targets.map((t) => `built ${t}`));
	for (const t of targets) expect(readFileSync(join(dir, "sub", t), "utf8")).toBe(`built ${t}\n`);
}, 90000);

function spawnRestart(): Running {
	const r = ckpt(["restart"], { cwd: dir });
	running.push(r);
	return r;
}

// tree-vfork-loop's child lingers in its parent's memory between vfork and
// exec, as a gcc driver's does on a busy machine: asked there, it ran the
// handler in its parent's memory while the parent, held in vfork, could not
// answer, and the checkpoint failed after 10 s (one CI run's ninja build).
test("a vfork child before its exec is waited for, not asked: 10 checkpoints in a row each succeed; the last, restarted, runs on and every vfork child exits 0", async () => {
	const run = ckpt([fixture("tree-vfork-loop")], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("started\n"));
	for (let i = 0; i < 10; i++) {
		const each = await runToEnd([CKPT, "checkpoint", String(run.pid), "--continue"], { cwd: dir });
		expect({ code: each.code, stderr: each.stderr }).toEqual({ code: 0, stderr: "" });
	}
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const rest = spawnRestart();
	writeFileSync(join(dir, "stop"), "");
	expect(await rest.exit()).toBe(0);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toBe("some children, 0 failed\n");
}, 90000);

test("a child that shares its parent's memory for good (clone with CLONE_VM) is refused naming it once the answer deadline passes, the program running on, and it ends as it would have", async () => {
	const run = ckpt([fixture("tree-vfork-loop"), "clone"], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("sharing\n"));
	const refused = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
	expect(refused.code).toBe(1);
	expect(refused.stderr).toMatch(/^ckpt: checkpoint of \d+ failed: process \d+ \(tree-vfork-loop\) still shares its parent's memory \(vfork, or clone with CLONE_VM\) after 10 s: checkpoint when it has exec'd or ended; the program continues\n$/);
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
	writeFileSync(join(dir, "stop"), "");
	expect(await run.exit()).toBe(0);
}, 90000);
