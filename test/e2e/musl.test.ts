// Programs linked with musl: ckpt preloads libckpt-musl.so into them (the
// glibc build cannot load under musl's loader), restarts them with output
// identical to an uninterrupted run, twice in a row, threads included;
// follows execs in place from glibc to musl and back, each getting the
// build its loader needs; `ckpt info` names the libc; a static musl
// program is refused before it starts. The fixtures are NAME.musl.c, built
// by musl-gcc; without it the build has no musl support and these tests
// are skipped (README says so).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, killStillRunning, lines, muslFixture, type Running, runToEnd, tempDir,
} from "./harness.ts";

const count = muslFixture("count");
const queue = muslFixture("queue-threads");
const execVia = muslFixture("exec-via");
const timer = muslFixture("thread-timer");
const noMusl = !count || !queue || !execVia || !timer;
if (noMusl) console.warn("musl.test.ts: this build has no musl fixtures (musl-gcc is not installed); its tests are skipped");

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

/** What `program` prints run straight through, without ckpt. */
async function straight(program: string[]): Promise<string> {
  const { dir: d, cleanup: c } = tempDir();
  const r = await runToEnd(program, { cwd: d });
  c();
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Starts `args` under ckpt, checkpoints once it has printed `after` lines
 * of its own, and expects the stop; returns its output. */
async function stopAfter(args: string[], after: number): Promise<Running> {
  const run = ckpt(args, { cwd: dir });
  running.push(run);
  await run.waitFor((o) => lines(o) >= after);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  return run;
}

/** Launch, checkpoint, restart, checkpoint the restarted program, restart
 * it to the end: the three outputs, joined. */
async function twice(args: string[], after: number): Promise<string> {
  const first = await stopAfter(args, after);
  const second = await stopAfter(["restart"], after);
  const third = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(third.stderr).toBe("");
  expect(third.code).toBe(0);
  return first.stdout + second.stdout + third.stdout;
}

describe.skipIf(noMusl)("musl programs", () => {
  let countStraight = "";
  beforeAll(async () => {
    countStraight = await straight([count!, "80"]);
  });

  test("a musl counting program, checkpointed and restarted twice, prints what an uninterrupted run prints", async () => {
    expect(countStraight).toEndWith("done, heap intact\n");
    expect(await twice([count!, "80"], 10)).toBe(countStraight);
  }, 60000);

  test("a musl producer/consumer program (mutex, condvars, 5 threads), restarted twice, same output; its threads check their ids inside", async () => {
    const expected = await straight([queue!, "3000"]);
    expect(expected).toContain("PASS every thread's id is the kernel's (6 of 6)\n");
    expect(expected).toContain("PASS a thread created at the end starts and joins\n");
    expect(await twice([queue!, "3000"], 5)).toBe(expected);
  }, 90000);

  test("a musl SIGEV_THREAD timer (musl's thread blocks SIGRTMAX) is served by ckpt's thread: checkpointed, and timer_delete ends it after a restart", async () => {
    const run = ckpt([timer!], { cwd: dir });
    running.push(run);
    await run.waitFor((o) => o.includes("ticks counting, 2 threads"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain("step 15:");
    expect(rest.stdout).toContain("after delete: 1 threads");
  }, 60000);

  test("`ckpt checkpoint PID` finds a musl program by its status line and checkpoints it", async () => {
    const run = ckpt([count!, "80"], { cwd: dir });
    running.push(run);
    await run.waitFor((o) => lines(o) >= 10);
    const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`checkpoint of ${run.pid} written to ${join(dir, "myckpt.dat")}`);
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.code).toBe(0);
    expect(run.stdout + rest.stdout).toBe(countStraight);
  }, 60000);

  test("ckpt info names the libc: musl for a musl program, glibc for a glibc one", async () => {
    await stopAfter([count!, "80"], 5);
    // --verify: the stub's checks too, musl's tid words among them, agree with the reader's.
    const musl = await runToEnd([CKPT, "info", "--verify", "myckpt.dat"], { cwd: dir });
    expect(musl.stderr).toBe("");
    expect(musl.code).toBe(0);
    expect(musl.stdout).toMatch(/^libc +musl$/m);
    const json = await runToEnd([CKPT, "info", "--json", "myckpt.dat"], { cwd: dir });
    expect(JSON.parse(json.stdout).taken.libc).toBe("musl");
    await stopAfter([demo("ticker"), "40"], 5);
    const glibc = await runToEnd([CKPT, "info", "myckpt.dat"], { cwd: dir });
    expect(glibc.stdout).toMatch(/^libc +glibc$/m);
  }, 60000);

  describe("through execs in place, each program gets the build its loader needs", () => {
    const script = () => {
      const path = join(dir, "wrap.sh");
      writeFileSync(path, '#!/bin/sh\nexport X=1\nexec "$@"\n', { mode: 0o755 });
      return path;
    };
    const chains: [string, () => string[], string][] = [
      ["glibc env X=1 -> musl", () => ["env", "X=1", count!, "80"], "count"],
      ["a #!/bin/sh script that execs -> musl", () => [script(), count!, "80"], "count"],
      ["musl execvp -> musl", () => [execVia!, "execvp", count!, "80"], "count"],
      ["musl execve -> glibc", () => [execVia!, "execve", demo("ticker"), "40"], "ticker"],
      ["glibc execvp -> musl execv -> glibc", () => [fixture("exec-via"), "execvp", execVia!, "execv", demo("ticker"), "40"], "ticker"],
    ];
    for (const [name, words, what] of chains) {
      test(name, async () => {
        const expected = what === "count" ? countStraight : await straight([demo("ticker"), "40"]);
        const first = await stopAfter(words(), 10);
        // Every program of the chain ran without ckpt's variables in sight.
        for (const line of first.stderr.split("\n").filter((l) => l.startsWith("exec-via")))
          expect(line).toMatch(/: clean$/);
        const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
        expect(rest.code).toBe(0);
        expect(first.stdout + rest.stdout).toBe(expected);
      }, 60000);
    }
  });

  test("a statically linked musl program is refused in one line before it starts", async () => {
    const r = await runToEnd([CKPT, muslFixture("count", "static")!, "3"], { cwd: dir });
    expect(r.code).toBe(126);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ckpt: .*count-musl-static: statically linked; .*build it without -static\)\n$/);
  });
});

afterAll(() => killStillRunning(running));
