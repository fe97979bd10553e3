// Process-wide state (issue #20): restored exactly, or refused with the
// program running on. test/fixtures/process-state.c sets each setting, prints it,
// waits for a line on stdin across the checkpoint and restart, then checks
// everything again from inside and prints "same X" / "DIFF X" and PASS/FAIL.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";
import { crc32c } from "../../src/image/crc32c.ts";
import { CKPT_HEADER_SIZE, HEADER, PROCESS_STATE } from "../../src/image/format.ts";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const PROGRAM = fixture("process-state");

function go(run: Running) {
	const stdin = run.proc.stdin as FileSink;
	stdin.write("go\n");
	stdin.flush();
}

/** Launches `cmd` (which runs ckpt), waits for `ready` lines, then sends the checkpoint signal. */
async function launchAndSignal(cmd: string[], ready: number) {
	const run = spawn(cmd, { cwd: dir, stdin: "pipe" });
	await run.waitFor((out) => (out.match(/ready\n/g) ?? []).length >= ready);
	// ckpt execs the program in place, but a wrapper (setpriv, sh) may be in
	// front: signal the program itself, which has the wrapper's pid too.
	process.kill(run.pid, "SIGUSR2");
	return run;
}

async function checkpoint(cmd: string[]) {
	const run = await launchAndSignal(cmd, 2);
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	return run;
}

async function restart(prefix: string[] = []) {
	const run = spawn([...prefix, CKPT, "restart"], { cwd: dir, stdin: "pipe" });
	go(run);
	const code = await run.exit();
	return { code, stdout: run.stdout, stderr: run.stderr };
}

const settings = (out: string, when: string) => out.match(new RegExp(`^${when}: (.*)$`, "m"))?.[1];

function hasCapability(bit: number): boolean {
	const eff = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)/m)?.[1] ?? "0";
	return ((BigInt(`0x${eff}`) >> BigInt(bit)) & 1n) === 1n;
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find(existsSync);

test("umask, THP disable, no-new-privs, subreaper, oom_score_adj, membarrier, rseq, altstacks, parent-death signals, thread names, rdtsc faulting and machine-check policies come back", async () => {
	const first = await checkpoint([CKPT, PROGRAM]);
	const before = settings(first.stdout, "before");
	expect(before).toBe("umask=027 thp_disable=1 no_new_privs=1 child_subreaper=1 oom_score_adj=789 membarrier=0x10 pdeath_signal=28 " +
		"nice=5 policy=3 ioprio=0x6000 timer_slack=123456 personality=0x40000 mdwe=1 coredump_filter=0x1 tsc=1 mce_kill=1");
	expect(first.stdout).toContain("main altstack: same area, SS_ONSTACK");
	expect(first.stdout).toContain("thread altstack: same area, SS_ONSTACK");

	const info = Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir });
	const doc = JSON.parse(info.stdout.toString());
	expect(doc.threads.map((t: { parentDeathSignal: number | null }) => t.parentDeathSignal)).toEqual([28, 17]);
	expect(doc.threads.map((t: { name: string }) => t.name)).toEqual(["process-state", "ps-worker"]);
	expect(doc.threads.map((t: { scheduling: unknown }) => t.scheduling)).toEqual([
		{ nice: 5, policy: "batch", priority: 0, resetOnFork: false, ioClass: "idle", ioLevel: 0, timerSlackNs: 123456 },
		{ nice: 7, policy: "idle", priority: 0, resetOnFork: false, ioClass: "best-effort", ioLevel: 6, timerSlackNs: 2000000 },
	]);
	expect(doc.threads.map((t: { rdtscFaults: boolean; machineCheckKill: string }) => [t.rdtscFaults, t.machineCheckKill])).toEqual([[false, "early"], [true, "late"]]);
	const p = doc.process;
	expect(p).toMatchObject({ umask: "0027", personality: 0x40000, mdwe: 1, coredumpFilter: 1, thpDisable: 1, noNewPrivs: true, childSubreaper: true, oomScoreAdj: 789,
		membarrier: ["private-expedited"] });

	const second = await restart();
	expect(second.stderr).toBe("");
	expect(settings(second.stdout, "after")).toBe(before!);
	for (const name of ["umask", "thp_disable", "no_new_privs", "child_subreaper", "oom_score_adj", "membarrier", "pdeath_signal", "nice", "policy", "ioprio", "timer_slack", "personality", "mdwe", "coredump_filter", "tsc", "mce_kill"])
		expect(second.stdout).toContain(`same ${name}\n`);
	// Registered again by the kernel, at the same area: cpu_id tracks this
	// run's CPU and a second registration is refused as a duplicate.
	expect(second.stdout).toContain("main rseq: cpu_id live, second registration EBUSY");
	expect(second.stdout).toContain("thread rseq: cpu_id live, second registration EBUSY");
	// Each thread was checkpointed inside a handler on its alternate stack.
	expect(second.stdout).toContain("main altstack: same area, SS_ONSTACK\n");
	expect(second.stdout).toContain("thread altstack: same area, SS_ONSTACK\n");
	// Each thread's own, set by the thread: SIGWINCH on the main one, SIGCHLD on the other.
	expect(second.stdout).toContain("thread pdeath_signal: 17\n");
	expect(second.stdout).toContain("thread scheduling: nice=7 policy=5 ioprio=0x4006 timer_slack=2000000\n");
	expect(second.stdout).toContain("thread name: ps-worker\n"); // its own, not the main thread's
	// Its own again: rdtsc faults (as in a program rr records), machine checks kill late.
	expect(second.stdout).toContain("thread prctl modes: tsc=2 mce_kill=0\n");
	expect(second.stdout).toEndWith("PASS\n");
	expect(second.code).toBe(0);
}, 60000);

test("settings the program never made do not leak in from the restart", async () => {
	await checkpoint([CKPT, PROGRAM, "plain"]);
	const restartWith = ["/bin/sh", "-c", 'umask 077; echo 444 > /proc/self/oom_score_adj; exec "$@"', "sh",
		"nice", "-n", "3", "setarch", "-R"];
	const second = await restart(restartWith);
	expect(second.stderr).toBe("");
	for (const name of ["umask", "oom_score_adj", "nice", "personality", "coredump_filter", "tsc", "mce_kill"]) expect(second.stdout).toContain(`same ${name}\n`);
	expect(second.stdout).toEndWith("PASS\n");
}, 60000);

test("an AIO context refuses the checkpoint by its ring address; the program runs on and can still use it", async () => {
	const run = await launchAndSignal([CKPT, PROGRAM, "aio"], 1);
	const ctx = run.stdout.match(/aio context (0x[0-9a-f]+)/)![1]!;
	await waitForStderr(run, "checkpoint failed");
	go(run);
	expect(await run.exit()).toBe(0);
	expect(run.stderr).toContain(
		`ckpt: checkpoint failed: the program has Linux AIO contexts (io_setup), which cannot be restored: ring at ${ctx}; ` +
			"checkpoint once they are destroyed (io_destroy); the program continues\n");
	expect(run.stdout).toContain("io_submit after: ok");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("KSM for the whole process (PR_SET_MEMORY_MERGE) refuses the checkpoint; the program runs on with it set", async () => {
	const run = spawn([CKPT, PROGRAM, "memory-merge"], { cwd: dir, stdin: "pipe" });
	await run.waitFor((out) => out.includes("ready\n") || out.includes("cannot set")).catch(() => {});
	if (run.stdout.includes("memory merge: cannot set")) {
		console.log(`skipped: this user cannot turn on PR_SET_MEMORY_MERGE here (${run.stdout.trim()})`);
		return;
	}
	process.kill(run.pid, "SIGUSR2");
	await waitForStderr(run, "checkpoint failed");
	go(run);
	expect(await run.exit()).toBe(0);
	expect(run.stderr).toContain("ckpt: checkpoint failed: the program turned on KSM for all its memory (prctl PR_SET_MEMORY_MERGE)");
	expect(run.stdout).toContain("memory merge after: on");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("seccomp filters the program's tree installed (a sandbox that execs it) refuse the checkpoint; it runs on under them", async () => {
	const run = await checkpointRun([fixture("seccomp-wrap"), fixture("late-threads")], { cwd: dir, afterLines: 2 });
	expect(run.code).toBe(0);
	expect(run.stderr).toContain("ckpt: checkpoint failed: the program installed seccomp filters of its own " +
		"(Seccomp_filters in /proc/self/status: 0 at launch, 1 now), which a restart cannot read back");
	expect(run.stdout).toContain("tick 11\nall threads joined, heap intact\n");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("seccomp filters ckpt was launched under are the environment's: checkpointed, and restarted under the restart's own", async () => {
	const run = spawn([fixture("seccomp-wrap"), CKPT, fixture("late-threads")], { cwd: dir });
	await run.waitFor((out) => out.includes("tick 1\n"));
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const rest = spawn([CKPT, "restart"], { cwd: dir });
	expect(await rest.exit()).toBe(0);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toEndWith("tick 11\nall threads joined, heap intact\n");
}, 60000);

test("a POSIX timer comes back armed after a restart (test/e2e/posix-timers.test.ts has the details)", async () => {
	const run = await launchAndSignal([CKPT, PROGRAM, "timer"], 1);
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const r = await restart();
	expect(r.stderr).toBe("");
	expect(r.stdout).toContain("timer after: armed");
	expect(r.code).toBe(0);
}, 60000);

test("an rseq area the program registered itself refuses the checkpoint by thread; it stays registered", async () => {
	const run = spawn([CKPT, PROGRAM, "own-rseq"], { cwd: dir, stdin: "pipe", env: { GLIBC_TUNABLES: "glibc.pthread.rseq=0" } });
	await run.waitFor((out) => out.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	await waitForStderr(run, "checkpoint failed");
	go(run);
	expect(await run.exit()).toBe(0);
	expect(run.stderr).toContain(`ckpt: checkpoint failed: thread ${run.pid} has an rseq area registered that is not ` +
		"glibc's, which ckpt cannot read back; leave rseq registration to glibc; the program continues\n");
	expect(run.stdout).toContain("own rseq after: still registered");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("different supplementary groups: a restart without CAP_SETGID refuses before teardown, naming both lists; one with it sets them", async () => {
	if (!SETPRIV || !hasCapability(6 /* CAP_SETGID */)) {
		console.log("skipped: needs setpriv and CAP_SETGID to launch with other groups");
		return;
	}
	await checkpoint([SETPRIV, "--groups", "4,24", CKPT, PROGRAM]);
	// root without CAP_SETGID: neither inheritable nor in the bounding set, so gone at exec
	const refused = await restart([SETPRIV, "--clear-groups", "--inh-caps=-setgid", "--bounding-set=-setgid"]);
	expect(refused.code).toBe(1);
	expect(refused.stderr).toBe(`ckpt: cannot restart ${join(dir, "myckpt.dat")}: the supplementary group list was 4,24, ` +
		"is now none; they cannot be set without privileges: restart from a session with the same groups\n");
	expect(refused.stdout).toBe("");
	const info = Bun.spawnSync([CKPT, "info"], { cwd: dir }).stdout.toString();
	expect(info).toMatch(/groups\s+4,24 \(must match at restart, or be settable: CAP_SETGID\)/);
	const second = await restart([SETPRIV, "--groups", "4,24"]);
	expect(second.stdout).toEndWith("PASS\n");
	// privileged, from a session with none: the restart gives the program its 4,24, seen from inside
	const groups = "import os, sys\nprint('groups', sorted(os.getgroups()), flush=True)\nsys.stdin.readline()\nprint('groups', sorted(os.getgroups()), flush=True)";
	const run = spawn([SETPRIV, "--groups", "4,24", CKPT, "/usr/bin/python3", "-c", groups], { cwd: dir, stdin: "pipe" });
	await run.waitFor((o) => o.endsWith("]\n")); // the whole line: print writes its parts one by one
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stdout).toBe("groups [4, 24]\n");
	const set = await restart([SETPRIV, "--clear-groups"]);
	expect(set.stderr).toBe("");
	expect(set.stdout).toBe("groups [4, 24]\n");
}, 60000);

test("a different login uid refuses the restart before teardown", async () => {
	const now = readFileSync("/proc/self/loginuid", "utf8").trim();
	if (now !== "4294967295" || !hasCapability(30 /* CAP_AUDIT_CONTROL */)) {
		console.log("skipped: needs an unset login uid and CAP_AUDIT_CONTROL to launch with another");
		return;
	}
	await checkpoint(["/bin/sh", "-c", 'echo 4321 > /proc/self/loginuid && exec "$@"', "sh", CKPT, PROGRAM]);
	const refused = await restart();
	expect(refused.code).toBe(1);
	expect(refused.stderr).toContain("the login uid (audit session) was 4321, is now unset; only a privileged process");
	const second = await restart(["/bin/sh", "-c", 'echo 4321 > /proc/self/loginuid && exec "$@"', "sh"]);
	expect(second.stdout).toEndWith("PASS\n");
}, 60000);

test("no_new_privs set on the restart but not on the program refuses the restart", async () => {
	if (!SETPRIV) {
		console.log("skipped: needs setpriv to restart with no_new_privs");
		return;
	}
	await checkpoint([CKPT, PROGRAM, "plain"]);
	const refused = await restart([SETPRIV, "--no-new-privs"]);
	expect(refused.code).toBe(1);
	expect(refused.stderr).toContain("no_new_privs was 0, is now 1 (inherited from whoever runs the restart)");
	const second = await restart();
	expect(second.stdout).toEndWith("PASS\n");
}, 60000);

test("a nice value below the restart's own, which it may not set, refuses it before teardown naming the thread", async () => {
	const first = await checkpoint([CKPT, PROGRAM]);
	expect(settings(first.stdout, "before")).toContain(" nice=5 ");
	let prefix = ["nice", "-n", "10"];
	if (hasCapability(23 /* CAP_SYS_NICE */)) {
		if (!SETPRIV) {
			console.log("skipped: needs setpriv to drop CAP_SYS_NICE for the restart");
			return;
		}
		prefix = [...prefix, SETPRIV, "--inh-caps=-sys_nice", "--bounding-set=-sys_nice"];
	}
	const refused = await restart(prefix);
	expect(refused.code).toBe(1);
	expect(refused.stderr).toMatch(/^ckpt: cannot restart \S+: thread \d+ had nice 5, which this restart may not set \(RLIMIT_NICE or CAP_SYS_NICE\): Permission denied\n$/);
	const second = await restart();
	expect(second.stdout).toEndWith("PASS\n");
}, 60000);

test("an oom_score_adj the restart may not lower refuses it before teardown, with both numbers", async () => {
	await checkpoint([CKPT, PROGRAM, "300"]);
	const image = join(dir, "myckpt.dat");
	const saved = readFileSync(image);
	let prefix: string[] = [];
	let want = "300", now = "500";
	if (hasCapability(24 /* CAP_SYS_RESOURCE */)) {
		if (!SETPRIV) {
			console.log("skipped: needs setpriv to drop CAP_SYS_RESOURCE for the restart");
			return;
		}
		// A privileged write sets the floor; the restart then runs without the capability.
		prefix = ["/bin/sh", "-c", 'echo 500 > /proc/self/oom_score_adj && exec "$@"', "sh",
			SETPRIV, "--inh-caps=-sys_resource", "--bounding-set=-sys_resource"];
	} else {
		// Without the capability nothing can go below 0 here: ask the image for -500.
		want = "-500";
		now = "0";
		const bytes = new Uint8Array(saved);
		const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		view.setInt32(HEADER.fields.process.off + PROCESS_STATE.fields.oom_score_adj.off, -500, true);
		view.setUint32(HEADER.fields.header_crc.off, 0, true);
		view.setUint32(HEADER.fields.header_crc.off, crc32c(bytes.subarray(0, CKPT_HEADER_SIZE)), true);
		writeFileSync(image, bytes);
	}
	const refused = await restart(prefix);
	expect(refused.code).toBe(1);
	expect(refused.stdout).toBe("");
	expect(refused.stderr).toBe(`ckpt: cannot restart ${image}: oom_score_adj was ${want}, is now ${now} and cannot be ` +
		"lowered by this restart (Permission denied; lowering it needs CAP_SYS_RESOURCE): restart from a process whose " +
		"oom_score_adj is not higher\n");
	writeFileSync(image, saved);
	const second = await restart();
	expect(second.stdout).toContain("same oom_score_adj\n");
	expect(second.stdout).toEndWith("PASS\n");
}, 60000);

async function waitForStderr(run: Running, text: string) {
	for (let i = 0; i < 2000 && !run.stderr.includes(text); i++) await Bun.sleep(10);
}
