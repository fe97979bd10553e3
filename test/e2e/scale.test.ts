// Programs at the sizes issue #17 names (test/fixtures/at-scale.c): many
// memory regions that do not merge, and many threads, checkpointed and
// restarted, each checking its own memory from inside afterwards. The
// region count that matters most is the one past what /proc/self/smaps
// could hold when it was read whole into the scratch text area (about
// 30,000 regions): smaps is now read a window at a time.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

async function checkpointAndRestart(args: string[]) {
  const first = await checkpointRun([fixture("at-scale"), ...args], { cwd: dir, afterLines: 1 });
  expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir }, 120000);
  expect(rest.stderr).toBe("");
  return rest;
}

// The kernel's default vm.max_map_count is 65,530; the test needs room for
// its regions plus the program's own.
const mapLimit = Number(readFileSync("/proc/sys/vm/max_map_count", "utf8"));

for (const regions of [10000, 40000]) {
  test.skipIf(mapLimit < regions + 1000)(`${regions} one-page regions with alternating protections: every page and protection comes back`, async () => {
    const rest = await checkpointAndRestart(["regions", String(regions)]);
    expect(rest.stdout).toBe("PASS every region's page holds its pattern\nPASS every read-write region can still be written\n");
    expect(rest.code).toBe(0);
  }, 180000);
}

test("256 threads: each keeps its stack's contents and runs on under its old tid after the restart", async () => {
  const rest = await checkpointAndRestart(["threads", "256"]);
  expect(rest.stdout).toBe("256 of 256 threads good\nPASS every thread kept its stack and runs on under its old tid\n");
  expect(rest.code).toBe(0);
}, 180000);
