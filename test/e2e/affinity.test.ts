// Each thread's CPU affinity (c/lib/capture_thread.c, c/stub/affinity.c):
// test/fixtures/affinity-threads.c prints from inside, after the restart,
// what sched_getaffinity says for each of its three threads and checks it
// against what it said before the checkpoint. A restart that may not use a
// saved CPU is refused in one line before anything is torn down, the image
// left as it was.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, need, type Running, runToEnd, spawn } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const checks = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));

/** Launches the fixture under `taskset -c CPUS` (or without), checkpoints it once it is ready. */
async function checkpointed(launchCpus: string | null, args: string[]) {
  const cmd = [CKPT, fixture("affinity-threads"), ...args];
  const run = spawn(launchCpus === null ? cmd : [need("taskset", "util-linux"), "-c", launchCpus, ...cmd], { cwd: dir });
  running.push(run);
  const ready = "ready\n".repeat(args[0] === "tree" ? 2 : 1); // a tree's child says it too
  await run.waitFor((out) => out === ready);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stdout).toBe(ready);
  const info = await runToEnd([CKPT, "info", "--json"], { cwd: dir });
  expect(info.code).toBe(0);
  return (JSON.parse(info.stdout).threads as { tid: number; cpus: number[] }[]);
}

test("two threads pinned to CPUs 1 and 0 (pthread_setaffinity_np) come back pinned the same; a restart under taskset -c 0 is refused naming the thread on CPU 1, the image intact", async () => {
  const taskset = need("taskset", "util-linux");
  // Launched on CPU 0, so the thread the restart cannot honour is the one pinned to CPU 1.
  const threads = await checkpointed("0", ["pin"]);
  expect(threads.map((t) => t.cpus).sort()).toEqual([[0], [0], [1]]);
  const pinned = threads.find((t) => t.cpus[0] === 1)!;
  const image = join(dir, "myckpt.dat");
  const before = readFileSync(image);

  const refused = await runToEnd([taskset, "-c", "0", CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${image}: thread ${pinned.tid} (#${threads.indexOf(pinned)}) may run only on CPUs 1, and this restart may not use CPU 1 (it may use 0); ` +
      "restart where those CPUs are allowed, or with --ignore-affinity to run every thread on this restart's CPUs\n",
  );
  expect(readFileSync(image).equals(before)).toBe(true);

  // --ignore-affinity does what it says: every thread on the restart's CPUs, which the program sees.
  const ignored = await runToEnd([taskset, "-c", "0", CKPT, "restart", "--ignore-affinity"], { cwd: dir });
  expect(ignored.stderr).toBe("");
  expect(checks(ignored.stdout)).toEqual(["FAIL thread a on CPUs 0 (was 1)", "PASS thread b on CPUs 0 (was 0)", "PASS thread main on CPUs 0 (was 0)"]);
  expect(ignored.code).toBe(1);

  // Eager, and lazy (memory loaded after the threads run: their CPUs are set all the same).
  for (const how of [[], ["--lazy"]]) {
    const rest = await runToEnd([CKPT, "restart", ...how], { cwd: dir });
    expect(rest.stderr).toMatch(/^(ckpt: --lazy: [^\n]*\n)?$/); // where no userfaultfd serves, one line and an eager restart
    expect(checks(rest.stdout)).toEqual(["PASS thread a on CPUs 1 (was 1)", "PASS thread b on CPUs 0 (was 0)", "PASS thread main on CPUs 0 (was 0)"]);
    expect(rest.code).toBe(0);
  }
}, 60000);

test("a program launched under taskset -c 1 and restarted without taskset is on CPU 1 only, every thread", async () => {
  const threads = await checkpointed("1", []);
  expect(threads.map((t) => t.cpus)).toEqual([[1], [1], [1]]);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/^ +TID +NAME +RIP +RSP +FS_BASE +CPUS$/m);
  expect(info.stdout).toMatch(new RegExp(`^ +${threads[0]!.tid} +\\S+ +0x[0-9a-f]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +1$`, "m"));
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checks(rest.stdout)).toEqual(["PASS thread a on CPUs 1 (was 1)", "PASS thread b on CPUs 1 (was 1)", "PASS thread main on CPUs 1 (was 1)"]);
  expect(rest.code).toBe(0);
}, 60000);

test("a process tree: the child's threads (itself on CPU 1, one thread on CPU 0) come back so; a restart under taskset -c 0 is refused naming the member image and its thread", async () => {
  const taskset = need("taskset", "util-linux");
  const threads = await checkpointed("0", ["tree"]);
  expect(threads.map((t) => t.cpus)).toEqual([[0], [0], [0]]);
  const member = readdirSync(dir).find((f) => f.startsWith("myckpt.dat."))!;
  const memberInfo = await runToEnd([CKPT, "info", "--json", member], { cwd: dir });
  const childThreads = JSON.parse(memberInfo.stdout).threads as { tid: number; cpus: number[] }[];
  expect(childThreads.map((t) => t.cpus).sort()).toEqual([[0], [1], [1]]);
  const childPid = childThreads[0]!.tid;

  const refused = await runToEnd([taskset, "-c", "0", CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: member image ${member} of pid ${childPid}: thread ${childPid} (#0) may run only on CPUs 1, ` +
      "and this restart may not use CPU 1 (it may use 0); restart where those CPUs are allowed, or with --ignore-affinity to run every thread on this restart's CPUs\n",
  );

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checks(rest.stdout)).toEqual([
    "PASS thread child a on CPUs 0 (was 0)", "PASS thread child b on CPUs 1 (was 1)", "PASS thread child main on CPUs 1 (was 1)",
    "PASS thread a on CPUs 0 (was 0)", "PASS thread b on CPUs 0 (was 0)", "PASS thread main on CPUs 0 (was 0)",
  ]);
  expect(rest.code).toBe(0);
}, 60000);
