// The core promise: a program checkpointed mid-run and restarted prints
// exactly what an uninterrupted run prints, and exits with its own status.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** Checkpoint after `afterLines` lines, restart, and return both outputs. */
async function checkpointAndRestart(program: string[], cwd: string, afterLines: number) {
  const first = await checkpointRun(program, { cwd, afterLines });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toContain("ckpt: checkpoint written to");
  const second = await runToEnd([CKPT, "restart"], { cwd });
  return { first, second };
}

// PIE and non-PIE, with and without -rdynamic: each places code and the
// dynamic symbol table differently. The four run side by side, each in its
// own directory, against one uninterrupted reference run.
const variants = ["", "-nopie", "-rdynamic", "-nopie-rdynamic"];

describe("checkpoint and restart continue the output exactly", () => {
  const cases: [(name: string) => string, string, string[], number][] = [
    [demo, "counting-test", ["7"], 3],
    [fixture, "hello-test", [], 4],
    [fixture, "heap-pattern", ["8", "8"], 3],
    [fixture, "clock-loop", [], 3],
    [fixture, "signal-handler", [], 3],
    [fixture, "deep-recursion", [], 3],
  ];
  for (const [built, name, args, after] of cases)
    test(`${name} (PIE, non-PIE, -rdynamic)`, async () => {
      const reference = runToEnd([built(name), ...args], { cwd: dir });
      const runs = variants.map(async (v) => {
        const cwd = join(dir, `variant${v}`);
        mkdirSync(cwd);
        return { v, ...(await checkpointAndRestart([built(name + v), ...args], cwd, after)) };
      });
      const ref = await reference;
      for (const { v, first, second } of await Promise.all(runs)) {
        expect({ v, stderr: second.stderr }).toEqual({ v, stderr: "" });
        expect({ v, out: first.stdout + second.stdout }).toEqual({ v, out: ref.stdout });
        expect({ v, code: second.code }).toEqual({ v, code: ref.code });
      }
    }, 60000);
});

test("SSE registers and callee-saved registers live in the interrupted code come back", async () => {
  const program = [fixture("simd-regs")];
  const first = ckpt(program, { cwd: dir });
  await first.waitFor((out) => out.length >= 4);
  process.kill(first.pid, "SIGUSR2");
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.code).toBe(0);
  expect(second.stdout).toContain("registers intact");
  expect((first.stdout + second.stdout).match(/\./g)?.length).toBe(12);
}, 60000);

test("a file written before and after the checkpoint keeps its offset; a file being read too", async () => {
  const input = join(dir, "in.txt");
  writeFileSync(input, Array.from({ length: 12 }, (_, i) => `line ${i}\n`).join(""));
  const program = [fixture("file-offset"), join(dir, "out.txt"), input];
  const reference = await runToEnd(program, { cwd: dir });
  expect(reference.stdout).toContain("file ok, 10 records");
  const first = await checkpointRun(program, { cwd: dir, afterLines: 4 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(first.stdout + second.stdout).toBe(reference.stdout);
  expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe(Array.from({ length: 10 }, (_, i) => `record ${i}\n`).join(""));
}, 60000);

test("output buffered in the program (stdout to a file) appears exactly once, and its exit status passes through", async () => {
  const out = join(dir, "out.txt");
  const sh = (cmd: string) => runToEnd(["/bin/sh", "-c", cmd], { cwd: dir });
  const ref = await sh(`'${fixture("buffered-output")}' > ref.txt`);
  expect(ref.code).toBe(7);
  const run = ckpt(["/bin/sh", "-c", `exec '${CKPT}' '${fixture("buffered-output")}' > '${out}'`], { cwd: dir });
  // Nothing reaches the file until the program exits, so wait by time.
  await Bun.sleep(700);
  // ckpt ran /bin/sh which exec'd ckpt which exec'd the demo: same pid.
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(readFileSync(out, "utf8")).toBe("");
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.code).toBe(7);
  expect(readFileSync(out, "utf8")).toBe(readFileSync(join(dir, "ref.txt"), "utf8"));
}, 60000);

test("images are private (0600) and the stop message names path, size and time", async () => {
  const first = await checkpointRun([demo("counting-test"), "1"], { cwd: dir, afterLines: 2 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const st = statSync(join(dir, "myckpt.dat"));
  expect(st.mode & 0o777).toBe(0o600);
  expect(first.stderr).toMatch(/checkpoint written to .*myckpt\.dat \(\d+(\.\d)? KiB in [\d.]+ ms\); stopping with exit status 85/);
}, 60000);

// A program that closed its stderr and opened a data file got fd 2: ckpt
// kept its lines out of it before a restart, but after one it took fd 2
// for the restart's stderr, and a second checkpoint's "taking a
// checkpoint" line landed in the program's data.
test("a program whose fd 2 is its own data file: no line of ckpt's ever lands in it, after a restart and a second checkpoint either", async () => {
  const program = [
    "import os, time",
    "os.close(2)",
    "f = open('data.txt', 'w')",
    "assert f.fileno() == 2",
    "for i in range(60):",
    "    f.write(f'line {i}\\n'); f.flush()",
    "    print('step', i, flush=True)",
    "    time.sleep(0.05)",
  ].join("\n");
  const run = ckpt(["/usr/bin/python3", "-c", program], { cwd: dir });
  await run.waitFor((o) => o.includes("step 3\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const rest = spawn([CKPT, "restart"], { cwd: dir });
  await rest.waitFor((o) => o.includes("\n") && o.split("\n").length > 3);
  process.kill(rest.pid, "SIGUSR2");
  expect(await rest.exit()).toBe(EXIT_CHECKPOINTED);
  const last = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(last.code).toBe(0);
  expect(readFileSync(join(dir, "data.txt"), "utf8")).toBe(Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(""));
}, 60000);
