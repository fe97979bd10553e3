// timer_create(SIGEV_THREAD) (vim's search and redraw timeouts): glibc's
// helper thread blocks every signal and could never be stopped; ckpt's
// per-timer thread stops like any other, and timer_delete still ends it,
// after a restart too (new thread ids).
import { expect, test } from "bun:test";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

test("a program with a SIGEV_THREAD timer is checkpointed; timer_delete ends the timer's thread after a restart", async () => {
  const run = ckpt([fixture("thread-timer")], { cwd: dir });
  await run.waitFor((o) => o.includes("ticks counting, 2 threads"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toContain("checkpoint written");
  expect(run.stdout).not.toContain("after delete");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain("step 15:");
  expect(rest.stdout).toContain("after delete: 1 threads");
}, 60000);

test("without a restart, timer_delete ends the timer's thread too", async () => {
  const r = await runToEnd([CKPT, fixture("thread-timer")], { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("ticks counting, 2 threads");
  expect(r.stdout).toContain("after delete: 1 threads");
}, 60000);
