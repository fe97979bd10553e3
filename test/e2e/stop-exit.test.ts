// A stopping checkpoint's exit (c/lib/exit_detached.c): the program ends
// while a child sharing its memory frees it. That child must not be seen:
// the program's pipes end with the program, and the child is gone soon
// after it (killed by the program's death), leaving no process behind.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** Processes whose command line is exactly `argv` (the program, or a clone of it). */
function processesRunning(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8") === want;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

test("after a stopping checkpoint of a 64 MiB heap, the program's output ends with it and no process of it is left", async () => {
  // This worktree's fixture path and a size no other test uses: the command line is this run's alone.
  const program = [fixture("heap-pattern"), "64", "7"];
  const first = await checkpointRun(program, { cwd: dir, afterLines: 1 });
  // checkpointRun read stdout and stderr to their end: a descriptor still open in the child would hold them.
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  await until(() => processesRunning(program).length === 0, () => `still running: ${processesRunning(program)}`);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir }, 120000);
  expect(rest.stdout).toMatch(/step 6 sum [0-9a-f]{16}\nheap ok\n$/);
  expect(rest.code).toBe(0);
}, 180000);
