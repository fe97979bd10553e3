// io_uring cannot be restored (issue #15's bad case): a program holding one
// gets one line naming it at checkpoint, no image, and runs on with the ring
// still working, checked by test/fixtures/io-uring.c. Its rings mapped after
// the fd is closed keep the ring alive, and are refused too: stored as plain
// memory they would have come back disconnected from any ring; so is a ring
// held only by index in a thread's table of registered rings.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, eachTestInTempDir, fixture } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const disabled = (() => {
  try {
    return readFileSync("/proc/sys/kernel/io_uring_disabled", "utf8").trim() !== "0";
  } catch {
    return false; // before Linux 6.6 there is no switch: io_uring is on
  }
})();
if (disabled) console.warn("io-uring.test.ts: io_uring is disabled on this machine (kernel.io_uring_disabled); its tests are skipped");

async function refused(args: string[], mode: string): Promise<{ stderr: string; stdout: string }> {
  const run = ckpt([...args, fixture("io-uring"), ...(mode ? [mode] : [])], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  return { stderr: run.stderr, stdout: run.stdout };
}

const FD_REFUSAL =
  "ckpt: checkpoint failed: fd 3 (anon_inode:[io_uring]) belongs to the program's event loop and cannot be restored yet; " +
  "closing it would break the program, so --drop-unsupported-fds does not apply; the program continues\n";

test.skipIf(disabled)("an io_uring fd: refused in one line naming it and its fd; the program runs on and the fd still works", async () => {
  expect(await refused([], "")).toEqual({ stderr: FD_REFUSAL, stdout: "ready\nstill running\nPASS the ring's fd still works\n" });
}, 60000);

test.skipIf(disabled)("an io_uring with its rings mapped, even with --drop-unsupported-fds: the fd is named, and the ring completes a no-op after", async () => {
  expect(await refused(["--drop-unsupported-fds"], "mapped")).toEqual({
    stderr: FD_REFUSAL,
    stdout: "ready\nstill running\nPASS the ring completes a no-op after the refused checkpoint\n",
  });
}, 60000);

test.skipIf(disabled)("an io_uring kept only by its mapped rings (fd closed): refused naming the mapping, not taken as plain memory", async () => {
  const { stderr, stdout } = await refused([], "closed");
  expect(stderr).toMatch(
    /^ckpt: checkpoint failed: mapping 0x[0-9a-f]+-0x[0-9a-f]+ of anon_inode:\[io_uring\] is a kernel object's memory, which cannot be restored \(a copy of its bytes would no longer be connected to the object\); checkpoint once it is unmapped; the program continues\n$/,
  );
  expect(stdout).toBe("ready\nstill running\nPASS the rings are still mapped\n");
}, 60000);

test.skipIf(disabled)("an io_uring kept only in the thread's table of registered rings (fd registered, then closed): refused naming the thread", async () => {
  const run = ckpt([fixture("io-uring"), "registered"], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    `ckpt: checkpoint failed: thread ${run.pid} holds an io_uring by a registered index (IORING_REGISTER_RING_FDS or ` +
      "IORING_SETUP_REGISTERED_FD_ONLY), which cannot be restored; checkpoint once it is unregistered; the program continues\n",
  );
  expect(run.stdout).toBe("ready\nstill running\nPASS the ring is still registered\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test.skipIf(disabled)("the same in a second thread: found by that thread as it stops, refused naming it", async () => {
  const run = ckpt([fixture("io-uring"), "thread"], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  const tid = run.stdout.match(/^thread (\d+)$/m)![1]!;
  expect(tid).not.toBe(String(run.pid));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    `ckpt: checkpoint failed: thread ${tid} holds an io_uring by a registered index (IORING_REGISTER_RING_FDS or ` +
      "IORING_SETUP_REGISTERED_FD_ONLY), which cannot be restored; checkpoint once it is unregistered; the program continues\n",
  );
  expect(run.stdout).toBe(`thread ${tid}\nready\nstill running\nPASS the thread's ring is still registered\n`);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);
