// The benchmark's statistics and parsing (bench/stats.ts) and the
// workload's longest-gap tracker (bench/longest-gap.h): the figures the
// README's table is made of.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gapWindow, inTurn, showSpread, spread, statusBytes } from "../../bench/stats.ts";

const root = join(import.meta.dir, "..", "..");

test("spread: median of odd and even counts, range, and rounds that measured nothing left out", () => {
  expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
  expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  expect(spread([5, NaN, 1, Infinity])).toEqual({ median: 3, min: 1, max: 5, n: 2 });
  expect(spread([NaN])).toBeUndefined();
  expect(spread([])).toBeUndefined();
});

test("showSpread: median then range, scaled; one value or no range shows alone; nothing shows as -", () => {
  expect(showSpread(spread([0.0123, 0.0101, 0.0152]), 1000)).toBe("12.3 (10.1-15.2)");
  expect(showSpread(spread([0.5]), 1000, 0)).toBe("500");
  expect(showSpread(spread([2, 2]), 1, 2)).toBe("2.00");
  expect(showSpread(undefined)).toBe("-");
});

test("gapWindow: the numbered window's line, not another's, and not a garbled one", () => {
  const out = [
    "ready",
    "window 1 spinning",
    "window 1 longest gap 61234567 ns from 9776324003853 after 12695663 reads",
    "alive",
    "window 2 spinning",
    "window 2 longest gap 812 ns from 9777000000000 after 5 reads",
    "window 3 longest gap 12x ns from 1 after 1 reads",
  ].join("\n");
  expect(gapWindow(out, 1)).toEqual({ window: 1, longestNs: 61234567, fromNs: 9776324003853, reads: 12695663 });
  expect(gapWindow(out, 2)?.longestNs).toBe(812);
  expect(gapWindow(out, 3)).toBeUndefined();
  expect(gapWindow(out, 4)).toBeUndefined();
});

test("statusBytes: kB fields of /proc/PID/status in bytes; a missing field is NaN", () => {
  const status = "Name:\tworkload\nVmHWM:\t   68224 kB\nVmRSS:\t   68000 kB\n";
  expect(statusBytes(status, "VmHWM")).toBe(68224 * 1024);
  expect(statusBytes(status, "VmRSS")).toBe(68000 * 1024);
  expect(statusBytes(status, "VmSwap")).toBeNaN();
});

test("longest-gap tracker: longest interval and its start, ties, a clock going back, one reading", () => {
  const dir = mkdtempSync(join(tmpdir(), "ckpt-gap-"));
  try {
    const exe = join(dir, "longest_gap_test");
    const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-Werror", "-o", exe, join(root, "test/c/longest_gap_test.c")]);
    expect(cc.stderr.toString()).toBe("");
    const run = Bun.spawnSync([exe]);
    expect(run.stdout.toString()).toMatch(/^7 passed, 0 failed$/m);
    expect(run.exitCode).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the workload's window: it measures while spinning and prints its longest gap on the second SIGUSR1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ckpt-workload-"));
  try {
    const exe = join(dir, "workload");
    const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-Werror", "-o", exe, join(root, "bench/heap-workload.c")]);
    expect(cc.stderr.toString()).toBe("");
    const p = Bun.spawn([exe, "1"], { stdout: "pipe" });
    const reader = p.stdout.getReader();
    let out = "";
    const until = async (want: string) => {
      while (!out.includes(want)) out += new TextDecoder().decode((await reader.read()).value);
    };
    await until("ready\n");
    p.kill("SIGUSR1");
    await until("window 1 spinning\n");
    p.kill("SIGSTOP"); // a pause the loop must see: it is stopped for at least this long
    await Bun.sleep(200);
    p.kill("SIGCONT");
    p.kill("SIGUSR1");
    await until("alive\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    const w = gapWindow(out, 1)!;
    expect(w.longestNs).toBeGreaterThanOrEqual(200e6);
    expect(w.reads).toBeGreaterThan(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("inTurn puts each of a pair first in every other round", () => {
  expect([0, 1, 2, 3].map((r) => inTurn(r, ["chain", "full"] as const))).toEqual([
    ["chain", "full"],
    ["full", "chain"],
    ["chain", "full"],
    ["full", "chain"],
  ]);
});
