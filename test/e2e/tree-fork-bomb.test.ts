// A fork bomb cut by RLIMIT_NPROC (issue #14's bad case): as an unprivileged
// user under `prlimit --nproc`, test/fixtures/tree-fork-bomb.c forks until
// EAGAIN. The checkpoint takes every child. A restart needs a few
// processes of its own (supervisor, init) beside the tree, so under the
// same limit it is refused in one line naming the limit, the images kept;
// with room for them, every child comes back, and so does the limit: one
// more fork fails again, and each child is reaped by its pid.
import { expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd, spawn, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const LIMIT = 40; // room for the CLI's own threads at its start (Bun aborts without them), before it execs the restart
/** The user's processes: the limit counts zombies too, and the stopped tree's
 * members are reaped by the host's init, in its own time. */
const nobodysProcesses = () =>
  readdirSync("/proc").filter((p) => /^\d+$/.test(p) && statOrNull(join("/proc", p))?.uid === 65534).length;
function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
const images = () => readdirSync(dir).filter((f) => f.startsWith("myckpt.dat")).sort();

test("a fork bomb cut by RLIMIT_NPROC: checkpointed whole; a restart without room is refused in one line, the images kept; with room, every child and the limit come back", async () => {
  chmodSync(dir, 0o777);
  const run = spawn([...NOBODY, "prlimit", `--nproc=${LIMIT}`, "setsid", CKPT, fixture("tree-fork-bomb")], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  const children = Number(/^children (\d+), cut by EAGAIN: yes$/m.exec(run.stdout)?.[1]);
  expect(children).toBeGreaterThan(0);
  expect(children).toBeLessThan(LIMIT);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  const kept = images();
  expect(kept).toHaveLength(children + 1);
  const root = readFileSync(join(dir, "myckpt.dat"));
  await until(() => nobodysProcesses() === 0, () => `${nobodysProcesses()} processes of uid 65534 left`, 30000);

  const refused = await runToEnd([...NOBODY, "prlimit", `--nproc=${LIMIT}`, CKPT, "restart"], { cwd: dir });
  expect(refused.stderr).toMatch(/^ckpt: cannot restart .*RLIMIT_NPROC: raise ulimit -u\)\n$/);
  expect(refused.stdout).toBe("");
  expect(refused.code).not.toBe(0);
  expect(images()).toEqual(kept);
  expect(readFileSync(join(dir, "myckpt.dat")).equals(root)).toBe(true);

  const rest = await runToEnd([...NOBODY, "prlimit", `--nproc=${LIMIT + 4}`, CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toBe(
    `PASS one more fork still fails with EAGAIN\nPASS every child reaped by its pid with its own status (${children} of ${children})\n`,
  );
  expect(rest.code).toBe(0);
}, 120000);
