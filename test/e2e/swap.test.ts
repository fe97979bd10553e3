// Pages swapped out at checkpoint time are the program's data like resident
// ones: taken for never-touched pages they would come back as zeros with
// every checksum matching. test/fixtures/swapped-pages.c pushes 8 MiB it wrote out
// with MADV_PAGEOUT, stays off it across the checkpoint, and checks every
// byte after the restart. It needs swap: a swap file is enabled for the
// test (root, a filesystem that allows one) and disabled again; otherwise
// the test is skipped with the reason, and the unit test of the page
// classification (test/c/page_kind_test.c) carries the guarantee.
import { afterAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, ckpt, fixture, EXIT_CHECKPOINTED, ROOT, type Running, runToEnd, tempDir } from "./harness.ts";

const SWAP = join(ROOT, "build", `swap-test-${process.pid}.swap`); // build/ is on /work's disk, never tmpfs
let enabled = false;

function sh(cmd: string[]): string | null {
  const r = Bun.spawnSync(cmd, { stderr: "pipe", stdout: "pipe" });
  return r.exitCode === 0 ? null : `${cmd.join(" ")}: ${(r.stderr.toString() || r.stdout.toString()).trim() || `exit ${r.exitCode}`}`;
}

/** Some swap to page out to: the system's, or a 64 MiB file of our own. Returns why not, or null. */
function ensureSwap(): string | null {
  const swaps = Bun.spawnSync(["cat", "/proc/swaps"]).stdout.toString().trim().split("\n");
  if (swaps.length > 1) return null;
  for (const cmd of [["fallocate", "-l", "64M", SWAP], ["chmod", "600", SWAP], ["mkswap", "-q", SWAP], ["swapon", SWAP]]) {
    const why = sh(cmd);
    if (why) {
      rmSync(SWAP, { force: true });
      return why;
    }
  }
  enabled = true;
  return null;
}

function disableSwap() {
  if (enabled) {
    const why = sh(["swapoff", SWAP]);
    if (why) throw new Error(`cannot disable the test's swap file: ${why}`);
    enabled = false;
  }
  rmSync(SWAP, { force: true });
}
afterAll(disableSwap);

test("swapped-out pages are saved and come back exactly", async () => {
  const why = ensureSwap();
  if (why) {
    console.warn(`skipped: no swap to page out to (${why})`);
    return;
  }
  const { dir, cleanup } = tempDir();
  let live: Running | undefined;
  try {
    const run = ckpt([fixture("swapped-pages"), join(dir, "go")], { cwd: dir });
    live = run;
    await run.waitFor((out) => out.includes("ready\n") || out.includes("SKIP:"));
    if (run.stdout.includes("SKIP:")) {
      console.warn(`skipped: ${run.stdout.trim()}`);
      await run.exit();
      return;
    }
    const [, swapped, pages] = run.stdout.match(/^swapped (\d+) of (\d+) pages$/m)!.map(Number);
    expect(swapped).toBeGreaterThan(pages! / 2); // most of them, so a hole would show
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    disableSwap(); // the image holds them now; the restart needs no swap
    writeFileSync(join(dir, "go"), "");
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest).toEqual({ code: 0, stdout: `after: PASS (${pages} pages intact)\n`, stderr: "" });
  } finally {
    if (live && live.proc.exitCode === null && live.proc.signalCode === null) live.proc.kill("SIGKILL");
    cleanup();
  }
}, 60000);
