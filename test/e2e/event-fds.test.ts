// An event loop's own descriptors (c/kinds/fd_eventfd.c, fd_signalfd.c,
// fd_timerfd.c): test/fixtures/event-fds.c holds each kind in a known
// state, is checkpointed, shown by `ckpt info`, restarted after a pause,
// and checks every one from inside. What cannot come back exactly is
// refused at checkpoint by fd, and the program runs on.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

test("eventfd, signalfd and timerfd come back with their counters, mask, clocks, times and unread expirations", async () => {
  const first = await checkpointRun([fixture("event-fds")], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.code).toBe(0);
  expect(info.stdout).toMatch(/^ +3 +eventfd +O_RDWR\|O_NONBLOCK +- +eventfd \(count 3, semaphore\)$/m);
  expect(info.stdout).toMatch(/^ +4 +eventfd +O_RDWR +- +eventfd \(count 5000000000\)$/m);
  expect(info.stdout).toMatch(/^ +6 +signalfd +O_RDWR\|O_NONBLOCK +- +signalfd \(SIGUSR1\)$/m);
  expect(info.stdout).toMatch(/^ +7 +timerfd .* timerfd \(CLOCK_MONOTONIC, every 100\.0 ms, next in [\d.]+ ms(, \d+ pending)?\)$/m);
  expect(info.stdout).toMatch(/^ +8 +timerfd .* timerfd \(CLOCK_MONOTONIC, disarmed, 1 pending\)$/m);
  expect(info.stdout).toMatch(/^ +9 +timerfd .* timerfd \(CLOCK_MONOTONIC, every 10\.00 s, next in [\d.]+ s, 1 pending\)$/m);
  expect(info.stdout).toMatch(/^ +10 +timerfd .* timerfd \(CLOCK_REALTIME, at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d\)$/m);
  expect(info.stdout).toMatch(/^ +11 +timerfd .* timerfd \(CLOCK_MONOTONIC, next in [\d.]+ s\)$/m);
  expect(info.stdout).toMatch(/^ +12 +timerfd .* timerfd \(CLOCK_BOOTTIME, absolute, next in [\d.]+ s\)$/m);

  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  const file = (fd: number) => json.files.find((f: { fd: number }) => f.fd === fd);
  expect(file(5)).toMatchObject({ kind: "eventfd", sameFileAs: 4, eventfd: { count: 5000000000, semaphore: false } });
  expect(file(6).signalfd).toEqual({ signals: [10] });
  expect(file(9).timerfd).toMatchObject({ clock: 1, clockName: "CLOCK_MONOTONIC", absolute: false, intervalNs: 10e9, pending: 1 });
  expect(file(10).timerfd).toMatchObject({ clock: 0, absolute: true, remainingNs: null, pending: 0 });
  expect(Date.parse(file(10).timerfd.dueAt)).toBeGreaterThan(Date.now());

  // The relative timers must not count this pause, the CLOCK_REALTIME absolute one must.
  await Bun.sleep(1200);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  const checks = rest.stdout.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checks).toHaveLength(14);
  expect(rest.code).toBe(0);
}, 60000);

test("a timerfd with TFD_TIMER_CANCEL_ON_SET: the checkpoint is refused naming the fd, even with --drop-unsupported-fds; the program runs on", async () => {
  for (const options of [[], ["--drop-unsupported-fds"]]) {
    const run = ckpt([...options, fixture("event-fds"), "cancel-on-set"], { cwd: dir });
    await run.waitFor((o) => o.includes("ready"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
    expect(run.stdout).toBe("ready\nstill running\n");
    expect(run.stderr).toMatch(
      /^ckpt: checkpoint failed: fd 3 \(anon_inode:\[timerfd\]: TFD_TIMER_CANCEL_ON_SET, whose pending cancellation .*\) belongs to the program's event loop .*; the program continues\n$/,
    );
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }
}, 60000);
