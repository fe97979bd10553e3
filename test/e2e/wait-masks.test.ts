// Threads parked in ppoll, pselect, epoll_pwait(2), sigsuspend with a full
// mask, or waiting for a full set of signals (sigwait family, signalfd),
// still stop for a checkpoint, and none of them is ever handed ckpt's stop
// signal (the demo prints FAIL if one is). The sigwait thread keeps
// working after the (refused) checkpoint.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ckpt, fixture, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

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
  // The demo's epoll is refused (an event loop cannot work without it; its
  // signalfd would come back), but only after every thread has stopped: a thread that
  // did not would fail the checkpoint by its tid after 10 s instead.
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor(() => run.stderr.includes("checkpoint failed"));
  expect(run.stderr).toMatch(/checkpoint failed: fd \d+ \(anon_inode:\[eventpoll\]/);
  expect(run.stderr).not.toContain("did not stop");
  // The program runs on, and the sigwait thread still takes its signal.
  process.kill(run.pid, "SIGUSR1");
  await run.waitFor((o) => o.split("sigwait got 10").length > 2);
  run.proc.kill("SIGKILL");
  await run.done;
  expect(run.stdout).not.toContain("FAIL");
}, 60000);
