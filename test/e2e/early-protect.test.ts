// Incremental checkpoints protect the written pages again while the program
// runs (c/lib/early_protect.c): the first request only starts a helper
// thread, whose own request takes the checkpoint, and copies the pages it
// found written so the pause need not (c/lib/early_copy.c). Here three
// threads rewrite their memory without pause while checkpoint after
// checkpoint is taken, so pages are written before the helper reaches
// them, between its scan and its copy, between its copy and the stop, and
// during the capture; the program checks every page of every thread from
// inside after the restart. With the pages written after the helper's scan
// taken from its copies (early_copy_stale a no-op), this failed in 3 runs
// of 4 with five checkpoints.
import { expect, test } from "bun:test";
import { ckpt, CKPT, eachTestInTempDir, fixture, type Running, runToEnd, until } from "./harness.ts";
import { writersOf } from "./periodic.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const textLines = (out: string) => out.split("\n").slice(0, -1);

test("threads rewriting their memory through eight --continue checkpoints: the incremental ones find and copy the written pages while the program runs, and every page of every thread comes back as written, not as copied", async () => {
  const exe = fixture("interval-threads");
  const run = ckpt(["--continue", exe], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes("ready"));
  for (let n = 1; n <= 8; n++) {
    process.kill(run.pid, "SIGUSR2");
    await until(() => run.stderr.split("checkpoint written").length > n, () => `checkpoint ${n}: ${run.stderr}`);
  }
  // The first is full and the second turns tracking on; the other six are incremental, each with pages found early.
  const found = [...run.stderr.matchAll(/pages written since the last one \((\d+) found while the program ran\)/g)].map((m) => Number(m[1]));
  expect({ found: found.length, stderr: run.stderr }).toEqual({ found: 6, stderr: run.stderr });
  for (const pages of found) expect(pages).toBeGreaterThan(0);
  run.proc.kill("SIGKILL");
  await run.done;
  await until(() => writersOf(exe).length === 0, () => "the last writer to finish");

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const checks = textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l));
  expect({ fails: checks.filter((l) => l.startsWith("FAIL")), count: checks.length }).toEqual({ fails: [], count: 3 });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);
