// A program that makes itself non-dumpable (or changes its credentials)
// hides /proc/PID/environ, where ckpt's status line is, from its own user.
// `ckpt checkpoint PID` must then say what happened: success when the
// image was written, and a clear line (not EACCES) when it cannot look at
// all. Needs an unprivileged user: root may read any environ.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { CKPT, fixture, runToEnd, spawn, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  chmodSync(dir, 0o777);
});
afterEach(() => cleanup());

const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
const env = () => ({ XDG_CACHE_HOME: join(dir, "cache"), HOME: dir });
const canDropPrivileges = () => process.getuid!() === 0 && Bun.which("setpriv") !== null;

if (!canDropPrivileges()) console.warn("undumpable.test.ts: needs root and setpriv to run the program as another user; skipped");
test.skipIf(!canDropPrivileges())("a program that turns non-dumpable right after its checkpoint: `ckpt checkpoint` reports the image", async () => {
  const run = spawn([...AS_NOBODY, CKPT, "--continue", fixture("undumpable"), "after-checkpoint", "60"], { cwd: dir, env: env() });
  await run.waitFor((o) => o.includes("tick 2"));
  const r = await runToEnd([...AS_NOBODY, CKPT, "checkpoint", String(run.pid)], { cwd: dir, env: env() });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toMatch(new RegExp(`^checkpoint of ${run.pid} written to ${join(dir, "myckpt.dat")} \\(.*\\); it continues\\n$`));
  await run.waitFor((o) => o.includes("undumpable"));

  // Now hidden from the start: one clear line, and the program runs on to its end.
  const again = await runToEnd([...AS_NOBODY, CKPT, "checkpoint", String(run.pid)], { cwd: dir, env: env() });
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(
    `ckpt: process ${run.pid} (undumpable): cannot read its status line in /proc/${run.pid}/environ (permission denied: ` +
      `the program made itself non-dumpable or changed its credentials); if it runs under ckpt, its checkpoint signal ` +
      `(kill -USR2 ${run.pid}, unless launched with --signal) still checkpoints it\n`,
  );
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toEndWith("tick 59\nPASS\n");
}, 30000);
