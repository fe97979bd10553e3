// Restarted programs checkpoint again: many generations in a row, with ASLR
// placing the stub and the kernel's vDSO somewhere new each time.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, lines, restoredPid, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

test("ASLR is on, so addresses really differ between generations", () => {
  expect(readFileSync("/proc/sys/kernel/randomize_va_space", "utf8").trim()).not.toBe("0");
});

test("50 consecutive checkpoint/restart cycles of one program, output identical to an uninterrupted run", async () => {
  const program = [demo("ticker"), "600"];
  const reference = runToEnd(program, { cwd: dir }, 120000);
  let out = "";
  let run = ckpt(program, { cwd: dir });
  for (let cycle = 0; cycle < 50; cycle++) {
    const seen = lines(out + run.stdout);
    // Let it make progress (a few lines) before each checkpoint.
    await run.waitFor((o) => lines(out + o) >= seen + 2 + (cycle % 3));
    process.kill(run.pid, "SIGUSR2");
    const code = await run.exit();
    expect({ cycle, code, stderr: run.stderr.split("\n").filter((l) => !l.includes("checkpoint written")).join("\n") })
      .toEqual({ cycle, code: EXIT_CHECKPOINTED, stderr: "" });
    out += run.stdout;
    run = ckpt(["restart"], { cwd: dir });
  }
  expect(await run.exit(60000)).toBe(0);
  out += run.stdout;
  expect(out).toBe((await reference).stdout);
}, 180000);

test("restart --image sends the next checkpoint elsewhere and leaves the first image as it was", async () => {
  const first = ckpt([demo("ticker"), "300"], { cwd: dir });
  await first.waitFor((o) => lines(o) >= 5);
  process.kill(first.pid, "SIGUSR2");
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  const original = readFileSync(join(dir, "myckpt.dat"));
  const second = ckpt(["restart", "myckpt.dat", "--image", "gen2.dat"], { cwd: dir });
  await second.waitFor((o) => lines(o) >= 5);
  process.kill(second.pid, "SIGUSR2");
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  expect(second.stderr).toContain(join(dir, "gen2.dat"));
  expect(readFileSync(join(dir, "myckpt.dat")).equals(original)).toBe(true);
  // The second generation still names the program, not the restore stub.
  const info = await runToEnd([CKPT, "info", "gen2.dat"], { cwd: dir });
  expect(info.stdout).toMatch(new RegExp(`^program +${demo("ticker")}$`, "m"));
  const third = await runToEnd([CKPT, "restart", "gen2.dat"], { cwd: dir });
  expect(third.code).toBe(0);
  const all = first.stdout + second.stdout + third.stdout;
  expect(all).toBe((await runToEnd([demo("ticker"), "300"], { cwd: dir })).stdout);
}, 60000);

/**
 * The address space as runs of pages with one permission: start-end perms,
 * adjacent mappings with equal permissions merged, since restored anonymous
 * copies (libckpt's own pages) may merge with their neighbours.
 */
function layout(pid: number): string[] {
  const runs: { start: string; end: string; perms: string }[] = [];
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").trim().split("\n")) {
    const [range, perms] = line.split(" ") as [string, string];
    const [start, end] = range.split("-") as [string, string];
    const last = runs.at(-1);
    if (last && last.end === start && last.perms === perms) last.end = end;
    else runs.push({ start, end, perms });
  }
  return runs.map((r) => `${r.start}-${r.end} ${r.perms}`);
}

test("a restarted program has its exact old memory layout, name and arguments (ps, pgrep)", async () => {
  const first = ckpt([demo("ticker"), "400"], { cwd: dir });
  await first.waitFor((o) => lines(o) >= 3);
  const before = layout(first.pid);
  process.kill(first.pid, "SIGUSR2");
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  const second = ckpt(["restart"], { cwd: dir });
  await second.waitFor((o) => lines(o) >= 3);
  const program = restoredPid(second.pid);
  const comm = readFileSync(`/proc/${program}/comm`, "utf8").trim();
  const cmdline = readFileSync(`/proc/${program}/cmdline`, "utf8").split("\0");
  const pgrep = await runToEnd(["pgrep", "-x", "ticker"], { cwd: dir });
  const after = layout(program);
  second.proc.kill("SIGKILL");
  await second.done;
  // Nothing of the restore stub is left behind; everything is where it was.
  expect(after).toEqual(before);
  expect(comm).toBe("ticker");
  expect(cmdline.slice(0, 2)).toEqual([demo("ticker"), "400"]);
  expect(pgrep.stdout.split("\n")).toContain(String(program));
}, 60000);
