// The bench's process-tree row (bench/tree.ts, bench/tree-workload.c): what
// it counts as "every member running", its per-round ratios, the bytes of
// an image with its members' files, and the workload's own heap check.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allAlive, imageBytes, pairedRatios } from "../../bench/tree.ts";

const dir = mkdtempSync(join(tmpdir(), "bench-tree-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("allAlive: one line from each index, whatever the order or repeats; a missing index, a garbled line or a higher index is not enough", () => {
  expect(allAlive("alive 2\nalive 0\nalive 1\nalive 0\n", 3)).toBe(true);
  expect(allAlive("ready\nalive 0\nalive 2\n", 3)).toBe(false);
  expect(allAlive("alive 0\nalive 1x\nalive 2\n", 3)).toBe(false);
  expect(allAlive("alive 0\nalive 3\n", 2)).toBe(false);
  expect(allAlive("", 1)).toBe(false);
});

test("pairedRatios: each round's ratio, not the ratio of medians; a round missing on either side is left out", () => {
  expect(pairedRatios([2, 6, 3], [1, 2, 3])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
  expect(pairedRatios([2, 4], [1])).toEqual({ median: 2, min: 2, max: 2, n: 1 });
  expect(pairedRatios([NaN], [1])).toBeUndefined();
});

test("imageBytes: the image and its member files beside it, not other images sharing a prefix", () => {
  writeFileSync(join(dir, "tree.dat"), "x".repeat(10));
  writeFileSync(join(dir, "tree.dat.00000000000000ab.42"), "x".repeat(5));
  writeFileSync(join(dir, "tree.dat.00000000000000ab.43"), "x".repeat(7));
  writeFileSync(join(dir, "tree.datum"), "x".repeat(100));
  expect(imageBytes(join(dir, "tree.dat"))).toBe(22);
});

/** The pids of `pid`'s children. */
const children = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

test("tree-workload: 3 processes fill their heaps, say ready once, and each checks its heap and says alive when woken", async () => {
  const program = join(dir, "tree-workload");
  expect(Bun.spawnSync(["cc", "-O2", "-o", program, join(import.meta.dir, "..", "..", "bench", "tree-workload.c")]).exitCode).toBe(0);
  const p = Bun.spawn([program, "3", "1"], { stdout: "pipe" });
  const reader = p.stdout.getReader();
  let out = "";
  const readUntil = async (done: () => boolean) => {
    while (!done()) out += new TextDecoder().decode((await reader.read()).value);
  };
  let pids = [p.pid];
  try {
    await readUntil(() => out.includes("ready\n"));
    pids = [p.pid, ...children(p.pid)];
    expect(pids).toHaveLength(3);
    for (const pid of pids) process.kill(pid, "SIGHUP");
    await readUntil(() => allAlive(out, 3));
    expect(out.split("\n").filter(Boolean).sort()).toEqual(["alive 0", "alive 1", "alive 2", "ready"]);
  } finally {
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await p.exited;
  }
});
