// POSIX timers (timer_create) come back exactly: same ids, clocks,
// notifications (signal with its value, a thread's new tid, none,
// SIGEV_THREAD), intervals, and no more time left than at checkpoint.
// test/fixtures/posix-timers.c checks all of it from inside after the restart and
// prints "ok ..."/"FAIL ..." lines and PASS.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";
import { CKPT_HEADER_SIZE, HEADER, PROCESS_STATE, TIMER } from "../../src/image/format.ts";
import { reseal } from "../fuzz/mutate.ts";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const PROGRAM = fixture("posix-timers");

/** PR_TIMER_CREATE_RESTORE_IDS is Linux 6.17+. */
function kernelRestoresTimerIds(): boolean {
	const [major = 0, minor = 0] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(/[.-]/).map(Number);
	return major > 6 || (major === 6 && minor >= 17);
}

test("timers of every kind keep their ids, clocks, signals, threads and intervals across a restart", async () => {
	if (!kernelRestoresTimerIds()) {
		console.log("SKIPPED: this kernel has no PR_TIMER_CREATE_RESTORE_IDS (Linux 6.17+); the restart refuses such images");
		return;
	}
	const run = ckpt([PROGRAM], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	const ids = run.stdout.match(/^ids (.*)$/m)![1]!;
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stderr).toContain("checkpoint written");

	// `ckpt info` lists them, by the ids the program printed.
	const info = await runToEnd([CKPT, "info"], { cwd: dir });
	expect(info.code).toBe(0);
	expect(info.stdout).toContain("POSIX timers (7;");
	const id = (name: string) => ids.match(new RegExp(`${name}=(\\d+)`))![1]!;
	expect(info.stdout).toMatch(new RegExp(`^ +${id("A")} +CLOCK_MONOTONIC +20\\.0 ms .* 35 value 0x5eed to the process$`, "m"));
	expect(info.stdout).toMatch(new RegExp(`^ +${id("B")} +CLOCK_REALTIME +30\\.0 ms .* 36 value 0xb0b to thread \\d+ \\(#\\d\\)$`, "m"));
	expect(info.stdout).toMatch(new RegExp(`^ +${id("C")} +CLOCK_MONOTONIC +- .* nothing \\(SIGEV_NONE\\)$`, "m"));
	expect(info.stdout).toMatch(new RegExp(`^ +${id("D")} +CLOCK_MONOTONIC +40\\.0 ms .* calls its function \\(SIGEV_THREAD\\)`, "m"));
	expect(info.stdout).toMatch(new RegExp(`^ +${id("F")} +process CPU time +- `, "m"));
	expect(info.stdout).toMatch(new RegExp(`^ +${id("G")} +CPU time of thread \\d+ \\(#\\d\\) +- `, "m"));
	const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
	expect(json.timers.map((t: { id: number }) => String(t.id))).toEqual(["A", "B", "C", "D", "E", "F", "G"].map(id));

	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toContain("restarted\n");
	expect(rest.stdout).not.toContain("FAIL");
	expect(rest.stdout.match(/^ok /gm)?.length).toBe(48);
	expect(rest.stdout).toContain("PASS\n");
	expect(rest.code).toBe(0);
}, 60000);

test("a timer on CLOCK_THREAD_CPUTIME_ID (which thread: the kernel does not say) refuses the checkpoint by its id; the program runs on with it armed", async () => {
	const run = ckpt([PROGRAM, "thread-cpu"], { cwd: dir, stdin: "pipe" });
	await run.waitFor((o) => o.includes("ready\n"));
	const id = run.stdout.match(/^timer (\d+)$/m)![1]!;
	process.kill(run.pid, "SIGUSR2");
	for (let i = 0; i < 500 && !run.stderr.includes("checkpoint failed"); i++) await Bun.sleep(20);
	(run.proc.stdin as FileSink).write("go\n");
	(run.proc.stdin as FileSink).flush();
	expect(await run.exit()).toBe(0);
	expect(run.stderr).toContain(
		`ckpt: checkpoint failed: POSIX timer ${id} counts its creating thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ` +
			"and the kernel does not say which thread; use the clock of pthread_getcpuclockid, which names it; " +
			"the program continues\n");
	expect(run.stdout).toContain("timer after: armed");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("a restart where timer ids cannot be given back (before Linux 6.17) is refused in one line, before teardown", async () => {
	const run = ckpt([PROGRAM], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	// test/fixtures/no-timer-ids.c makes prctl(PR_TIMER_CREATE_RESTORE_IDS) fail as an older kernel does.
	const old = await runToEnd([fixture("no-timer-ids"), CKPT, "restart"], { cwd: dir });
	expect(old.stdout).toBe("");
	expect(old.stderr).toBe(
		`ckpt: cannot restart ${join(dir, "myckpt.dat")}: the image has 7 POSIX timers and this kernel cannot create ` +
			"them with their ids again (prctl PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.17): Invalid argument\n");
	expect(old.code).toBe(1);
	if (!kernelRestoresTimerIds()) {
		console.log("SKIPPED the restart that should work: this kernel has no PR_TIMER_CREATE_RESTORE_IDS");
		return;
	}
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stdout).toContain("PASS\n");
	expect(rest.code).toBe(0);
}, 60000);

test("a timer record out of range (checksums recomputed) is refused by the reader and by the restart, before teardown", async () => {
	const run = ckpt([PROGRAM], { cwd: dir });
	await run.waitFor((o) => o.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const path = join(dir, "myckpt.dat");
	const img = new Uint8Array(readFileSync(path));
	const view = new DataView(img.buffer);
	const ps = HEADER.fields.process.off;
	const timersOff = view.getUint32(ps + PROCESS_STATE.fields.timers_off.off, true);
	const first = CKPT_HEADER_SIZE + timersOff;
	const id = view.getInt32(first + TIMER.fields.id.off, true);
	view.setUint32(first + TIMER.fields.notify.off, 3, true); // no such sigev_notify
	reseal(img);
	writeFileSync(path, img, { mode: 0o600 });
	const info = await runToEnd([CKPT, "info"], { cwd: dir });
	expect(info.stderr).toContain(`timer ${id}: notification 3 or its thread out of range (corrupt image)`);
	expect(info.code).toBe(1);
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stdout).toBe("");
	expect(rest.stderr).toBe(`ckpt: cannot restart ${path}: cannot create POSIX timer ${id} (corrupt image: timer record out of range)\n`);
	expect(rest.code).toBe(1);
}, 60000);
