// Multi-threaded programs: every thread stopped, captured, and recreated
// with its TLS, stack and place; checkpoints at random moments must not
// change what the program prints.
import { expect, test } from "bun:test";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/**
 * Runs `program` under ckpt, checkpointing it `cycles` times after a random
 * number of output lines (or bytes, for programs that print little), each
 * time restarting from the image; returns the whole output and exit code.
 */
async function cycles(program: string[], count: number, opts: { minLines?: number; spread?: number } = {}) {
  let out = "";
  let run = ckpt(program, { cwd: dir });
  let done = 0;
  for (let i = 0; i < count; i++, done++) {
    const seen = lines(out + run.stdout);
    const target = seen + (opts.minLines ?? 1) + Math.floor(Math.random() * (opts.spread ?? 3));
    try {
      await run.waitFor((o) => lines(out + o) >= target);
    } catch {
      break; // the program ended before this cycle: that is fine
    }
    // A random moment between two lines, not always right after one.
    await Bun.sleep(Math.floor(Math.random() * 40));
    if (run.proc.exitCode !== null) break; // it ended meanwhile
    try {
      process.kill(run.pid, "SIGUSR2");
    } catch {
      break; // ended between the check and the signal
    }
    const code = await run.exit();
    out += run.stdout;
    if (code !== EXIT_CHECKPOINTED) return { out, code, stderr: run.stderr, cycles: i };
    expect(run.stderr).toContain("checkpoint written");
    run = ckpt(["restart"], { cwd: dir });
  }
  const code = await run.exit(60000);
  return { out: out + run.stdout, code, stderr: run.stderr, cycles: done };
}

test("20 checkpoint/restart cycles in a row of 8 counting threads with thread-local counters", async () => {
  const program = [demo("threads-count"), "8", "60"];
  const reference = runToEnd(program, { cwd: dir });
  const r = await cycles(program, 20);
  expect(r.code).toBe(0);
  expect(r.cycles).toBe(20);
  expect(r.out).toBe((await reference).stdout);
  expect(r.out).toContain("joined 8 of 8");
}, 180000);

test("64 threads", async () => {
  const program = [demo("threads-count"), "64", "12"];
  const reference = runToEnd(program, { cwd: dir });
  const r = await cycles(program, 3);
  expect(r.code).toBe(0);
  expect(r.out).toBe((await reference).stdout);
}, 120000);

test("producer and consumers over a mutex and condition variables: no item lost or duplicated", async () => {
  const program = [fixture("producer-consumer"), "4000"];
  const r = await cycles(program, 6);
  expect(r.code).toBe(0);
  expect(r.out).toContain("consumed 4000 of 4000 items, each exactly once");
  expect(r.out).toBe((await runToEnd(program, { cwd: dir })).stdout);
}, 120000);

test("threads that exit and are joined, and threads created after a restart", async () => {
  const program = [fixture("threads-lifecycle")];
  const r = await cycles(program, 5, { spread: 1 });
  expect(r.code).toBe(0);
  expect(r.out).toBe((await runToEnd(program, { cwd: dir })).stdout);
}, 120000);

test("threads blocked in read, poll and sleeps, and one that blocks every signal", async () => {
  const program = [fixture("threads-blocking")];
  const r = await cycles(program, 5);
  expect(r.code).toBe(0);
  expect(r.out).toBe((await runToEnd(program, { cwd: dir })).stdout);
  expect(r.out).not.toMatch(/BEHIND|STUCK/);
}, 120000);

test("a thread on a stack the program allocated, and one created from a signal handler", async () => {
  const program = [fixture("threads-custom")];
  const r = await cycles(program, 4);
  expect(r.code).toBe(0);
  expect(r.out).toBe((await runToEnd(program, { cwd: dir })).stdout);
  expect(r.out).toContain("custom 200, from handler 200");
}, 120000);

test("`ckpt info` lists every thread with its registers of interest", async () => {
  const run = ckpt([demo("threads-count"), "5", "40"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.code).toBe(0);
  expect(info.stdout).toContain("threads (6):");
  const rows = info.stdout.split("\n").filter((l) => /^\s+\d+\s+\S+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+[\d,-]+$/.test(l));
  expect(rows.length).toBe(6);
  expect(rows[0]!.trim().split(/\s+/)[0]).toBe(String(run.pid)); // the leader first
}, 60000);

test("two requests at once with --continue: both are served, one after the other, without deadlock", async () => {
  const run = ckpt(["--continue", demo("threads-count"), "8", "30"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => lines(o) >= 8);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  const written = run.stderr.split("\n").filter((l) => l.includes("checkpoint written")).length;
  expect(written).toBeGreaterThanOrEqual(2);
  expect(run.stdout).toContain("joined 8 of 8");
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.code).toBe(0);
  expect(second.stdout).toContain("joined 8 of 8");
}, 60000);

// Mutexes that record their owner's thread id (error-checking, recursive,
// robust, priority-inheritance) held across a checkpoint unlock after a
// restart: the restart into a pid namespace gives every thread its old tid
// (pid-namespace.test.ts checks more, and the fallback's EPERM).
test("an error-checking mutex held across a restart unlocks", async () => {
  const program = [fixture("mutex-owner")];
  const plain = await runToEnd(program, { cwd: dir });
  expect(plain.stdout).toContain("error-checking unlock: ok");
  const r = await cycles(program, 1, { minLines: 2, spread: 1 });
  expect(r.code).toBe(0);
  expect(r.out).toContain("error-checking unlock: ok");
  expect(r.out).toContain("normal unlock: ok");
}, 60000);
