// The status line `ckpt checkpoint PID` reads from /proc/PID/environ holds
// the image path: a newline or '%' in it must not break the line.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

test("an image name with a newline and '%': `ckpt checkpoint PID` finds the process and reports the image", async () => {
  const name = "run\n1%0A.dat";
  const run = ckpt(["--image", name, "--continue", demo("ticker"), "300"], { cwd: dir });
  try {
    await run.waitFor((o) => lines(o) >= 3);
    for (let i = 1; i <= 2; i++) {
      const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toStartWith(`checkpoint of ${run.pid} written to '${join(dir, name)}' (`);
    }
    expect(existsSync(join(dir, name))).toBe(true);
  } finally {
    run.proc.kill("SIGKILL");
    await run.done;
  }
}, 30000);
