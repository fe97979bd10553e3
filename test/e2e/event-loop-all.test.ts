// All of a C event loop's sources at once (issue #15): one epoll, edge and
// level watches, over a timerfd, an eventfd a thread writes, a signalfd fed
// by a POSIX timer, a self-pipe a SIGALRM handler writes and an inotify
// watch. Checkpointed early or after several rounds, restarted, and
// restarted again from the restarted program's checkpoint: every source
// keeps firing, through the same fds and the same timer id, checked by
// test/fixtures/event-loop-all.c from inside.
import { expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const PROGRAM = fixture("event-loop-all");
const PERIODIC = ["timerfd", "eventfd", "signalfd", "self-pipe"];

/** PR_TIMER_CREATE_RESTORE_IDS is Linux 6.17+; before, ckpt refuses to restart a program holding timers. */
function kernelRestoresTimerIds(): boolean {
  const [major = 0, minor = 0] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 17);
}

const rounds = (out: string): string[] => [...(out.match(/^round \d+: .*$/gm) ?? [])];
/** The kinds of event lines printed: "timerfd", ..., "inotify". */
const kinds = (out: string) =>
  [...new Set((out.match(/^(round \d+: .*|inotify: .*)$/gm) ?? []).map((l) => l.replace(/^round \d+: /, "").replace(/: .*/, "")))].sort();

/** Round lines 1..n, each with the four periodic kinds in order, every one exactly once. */
function contiguousRounds(lines: string[]): string[] {
  const n = Math.floor(lines.length / PERIODIC.length);
  return Array.from({ length: n }, (_, i) => PERIODIC.map((k) => `round ${i + 1}: ${k}`)).flat();
}

async function checkpoint(run: Running): Promise<void> {
  process.kill(run.pid, "SIGUSR2");
  expect({ code: await run.exit(), stderr: run.stderr }).toEqual({
    code: EXIT_CHECKPOINTED,
    stderr: expect.stringContaining("ckpt: checkpoint written to"),
  });
}

/** Restarts the image, and touches the watched file once the program says it was restarted. */
async function restart(generation: number): Promise<Running> {
  const run = ckpt(["restart"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes(`restarted (generation ${generation})\n`));
  appendFileSync(join(dir, "watched"), "after restart\n");
  await run.waitFor((o) => o.includes(`generation ${generation} checked\n`));
  return run;
}

function expectPassed(out: string, generation: number) {
  const checks = out.match(/^(PASS|FAIL) .*$/gm) ?? [];
  expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checks.length).toBe(7);
  expect(out).toContain(`restarted (generation ${generation})\n`);
}

test.skipIf(!kernelRestoresTimerIds())("checkpointed as soon as it is set up: after restart every source fires again, through the same fds and timer id", async () => {
  const run = ckpt([PROGRAM, dir, "1"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.startsWith("fds "));
  await checkpoint(run);
  const header = run.stdout.match(/^fds .*$/m)![0];

  const second = await restart(1);
  const code = await second.exit();
  expectPassed(second.stdout, 1);
  expect({ code, stderr: second.stderr }).toEqual({ code: 0, stderr: "" });
  for (const kind of ["timerfd", "eventfd", "signalfd", "inotify"])
    expect(second.stdout).toContain(`PASS ${kind} fired again`);
  // The fds and timer the program printed at the start are the ones it checked.
  const [, timerfd, timer] = header.match(/timerfd=(\d+) .* timer=(\d+)/)!;
  expect(second.stdout).toContain(`through fd ${timerfd} (anon_inode:[timerfd])`);
  expect(second.stdout).toContain(`PASS timer ${timer} still armed`);
  expect(timer).not.toBe("0");
  // Whatever kinds had printed before, all of them print after, and the rounds run on without a gap or a repeat.
  expect(kinds(second.stdout)).toEqual(["eventfd", "inotify", "self-pipe", "signalfd", "timerfd"]);
  const all = rounds(run.stdout + second.stdout);
  expect(all).toEqual(contiguousRounds(all));
}, 60000);

test.skipIf(!kernelRestoresTimerIds())("checkpointed after several rounds, restarted, checkpointed and restarted again: three generations, the same kinds of lines in each", async () => {
  const run = ckpt([PROGRAM, dir, "2"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => rounds(o).length >= 5 * PERIODIC.length);
  appendFileSync(join(dir, "watched"), "before checkpoint\n");
  await run.waitFor((o) => o.includes("inotify: watched modified\n"));
  await run.waitFor((o) => rounds(o).length >= 8 * PERIODIC.length);
  await checkpoint(run);
  const before = kinds(run.stdout);
  expect(before).toEqual(["eventfd", "inotify", "self-pipe", "signalfd", "timerfd"]);

  const second = await restart(1);
  expectPassed(second.stdout, 1);
  // The second generation runs on after its checks; let it finish a few more rounds first.
  const roundsThen = rounds(second.stdout).length;
  await second.waitFor((o) => rounds(o).length >= roundsThen + 3 * PERIODIC.length);
  await checkpoint(second);
  expect(kinds(second.stdout)).toEqual(before);

  const third = await restart(2);
  const code = await third.exit();
  expectPassed(third.stdout, 2);
  expect({ code, stderr: third.stderr }).toEqual({ code: 0, stderr: "" });
  expect(kinds(third.stdout)).toEqual(before);
  const all = rounds(run.stdout + second.stdout + third.stdout);
  expect(all).toEqual(contiguousRounds(all));
  expect(all.length).toBeGreaterThan(8 * PERIODIC.length);
}, 90000);
