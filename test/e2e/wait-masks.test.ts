// Threads parked in ppoll, pselect, epoll_pwait(2), sigsuspend with a full
// mask, or waiting for a full set of signals (sigwait family, signalfd),
// still stop for a checkpoint, and none of them is ever handed ckpt's stop
// signal (the demo prints FAIL if one is). After the restart each waits on
// in its call, and the sigwait thread still takes its signal.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ckpt, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, restoredPid, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

// x86-64 numbers of the calls each thread must be parked in before the
// checkpoint, or the test would prove nothing.
const WAITS = { ppoll: 271, pselect6: 270, epoll_pwait: 281, epoll_pwait2: 441, rt_sigsuspend: 130, rt_sigtimedwait: 128, read: 0 };

function parkedIn(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => Number(readFileSync(`/proc/${pid}/task/${t}/syscall`, "utf8").split(" ")[0]));
}

async function allParked(pid: number) {
  const want = Object.values(WAITS);
  for (let i = 0; i < 2000; i++) {
    const calls = parkedIn(pid);
    if (want.every((n) => calls.includes(n)) && calls.filter((n) => n === WAITS.rt_sigtimedwait).length === 3) return;
    await Bun.sleep(10);
  }
  throw new Error(`threads never all parked: ${parkedIn(pid).join(",")}`);
}

test("a full mask or a full waited set in every waiting call does not keep a thread from stopping", async () => {
  const run = ckpt([fixture("wait-masks")], { cwd: dir });
  await run.waitFor((o) => o.includes("ready"));
  await allParked(run.pid);
  process.kill(run.pid, "SIGUSR1");
  await run.waitFor((o) => o.includes("sigwait got 10"));
  // Every thread stops (one that did not would fail the checkpoint by its
  // tid after 10 s), and the image holds them all, epoll and signalfd too.
  process.kill(run.pid, "SIGUSR2");
  expect({ code: await run.exit(), stderr: run.stderr }).toEqual({
    code: EXIT_CHECKPOINTED,
    stderr: expect.stringContaining("ckpt: checkpoint written to"),
  });
  const back = ckpt(["restart"], { cwd: dir });
  try {
    // Every thread waits on in its call, as if no checkpoint had come
    // (c/lib/interrupted_waits.c). A signal sent before the program is back
    // would reach ckpt itself, hence the wait for them all to be parked.
    await until(() => {
      try {
        const calls = parkedIn(restoredPid(back.pid));
        return Object.values(WAITS).every((n) => calls.includes(n));
      } catch {
        return false;
      }
    }, () => `threads parked again after the restart; stdout:\n${back.stdout}`);
    expect(back.stdout).toBe("");
    process.kill(back.pid, "SIGUSR1");
    await back.waitFor((o) => o.includes("sigwait got 10"));
  } finally {
    back.proc.kill("SIGKILL");
    await back.done;
  }
  expect(back.stderr).toBe("");
  expect(run.stdout + back.stdout).not.toContain("FAIL");
}, 60000);
