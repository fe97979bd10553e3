// Running a process tree in the tests: checkpoint it at a moment of its
// output, and find the processes it left running.
import { expect } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { EXIT_CHECKPOINTED, type Running, spawn } from "./harness.ts";

/** Runs `cmd` in `dir` until its output satisfies `ready`, then checkpoints it
 * (SIGUSR2 to the pid the shell sees) in stop mode; `running`, if given,
 * holds it for the test's clean-up. Returns its output. */
export async function checkpointWhen(dir: string, cmd: string[], ready: (out: string) => boolean, running?: Running[]) {
  const run = spawn(cmd, { cwd: dir });
  running?.push(run);
  await run.waitFor(ready);
  process.kill(run.pid, "SIGUSR2");
  const code = await run.exit();
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  expect(code).toBe(EXIT_CHECKPOINTED);
  return run.stdout;
}

/** The processes working in `where` (their cwd), as ps would find them: what a tree left running. */
export function processesIn(where: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === where) found.push(Number(entry));
    } catch {} // gone meanwhile, or not ours to read
  }
  return found;
}

/** A Makefile building each of `targets` with a recipe that sleeps, writes the
 * target and says "built T": what the make -j2 tests checkpoint mid-build. */
export function slowMakefile(targets: string[]): string {
  const recipe = (t: string) => `${t}:\n\tsleep 0.4; echo built ${t} > ${t}; echo built ${t}\n`;
  return `all: ${targets.join(" ")}\n${targets.map(recipe).join("")}`;
}
