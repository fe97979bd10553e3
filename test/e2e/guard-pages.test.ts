// Guard pages (madvise MADV_GUARD_INSTALL, Linux 6.13+) in private
// anonymous, shared anonymous and private file memory: the checkpoint must
// not touch them (reading one raises SIGSEGV), and the restart installs them
// again. test/fixtures/guard-pages.c checks from inside, before and after, that each
// guard page still faults and every page around it holds its bytes.
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd } from "./harness.ts";

let dir: string;
const started: Running[] = [];
eachTestInTempDir((d) => (dir = d), started);

const AREAS = [["private", 2, 14], ["shared", 1, 3], ["file", 1, 2]] as const;
const report = (phase: string) =>
  AREAS.map(([area, guards, intact]) => `${phase} ${area}: PASS (${guards} guard pages fault, ${intact} pages intact)\n`).join("");

/** Starts the demo (a private copy: its own file is one of the mapped areas); null when the kernel has no guard pages. */
async function start(ckptArgs: string[]): Promise<Running | null> {
  const program = join(dir, "guard-pages");
  copyFileSync(fixture("guard-pages"), program);
  chmodSync(program, 0o755);
  const run = ckpt([...ckptArgs, program, join(dir, "go")], { cwd: dir });
  started.push(run);
  await run.waitFor((out) => out.includes("ready\n") || out.includes("SKIP:"));
  if (run.stdout.includes("SKIP:")) {
    console.warn(`skipped: ${run.stdout.trim()}`);
    await run.exit();
    return null;
  }
  expect(run.stdout).toBe(`${report("before")}ready\n`);
  return run;
}

/** The image records each guard range as such, and nothing else as guard. */
async function expectGuardExtents() {
  const info = await runToEnd([CKPT, "info", "--json"], { cwd: dir });
  expect(info.stderr).toBe("");
  const doc = JSON.parse(info.stdout);
  const guards = doc.regions.flatMap((r: { extents: { storage: string; size: number }[] }) =>
    r.extents.filter((e) => e.storage === "guard").map((e) => e.size / 4096));
  expect(guards.sort()).toEqual([1, 1, 2]);
  expect(doc.regions.reduce((n: number, r: { stored: { guard: number } }) => n + r.stored.guard, 0)).toBe(4 * 4096);
  expect((await runToEnd([CKPT, "info"], { cwd: dir })).stdout).toContain("(guard pages: 8.0 KiB)");
}

test("stop and restart: guard pages fault again, the data around them is intact", async () => {
  const run = await start([]);
  if (!run) return;
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toContain("ckpt: checkpoint written to");
  await expectGuardExtents();
  writeFileSync(join(dir, "go"), "");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest).toEqual({ code: 0, stdout: report("after"), stderr: "" });
}, 60000);

test("--continue: the background writer's copy-on-write view skips them too, and both go on", async () => {
  const run = await start(["--continue"]);
  if (!run) return;
  const cp = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect({ code: cp.code, stderr: cp.stderr }).toEqual({ code: 0, stderr: "" });
  await expectGuardExtents();
  writeFileSync(join(dir, "go"), "");
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe(`${report("before")}ready\n${report("after")}`);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest).toEqual({ code: 0, stdout: report("after"), stderr: "" });
}, 60000);
