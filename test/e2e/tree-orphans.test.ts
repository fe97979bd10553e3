// Processes of a tree whose parent exited, and groups and sessions whose
// leader is gone (docs/process-trees.md, "Orphans and gone leaders";
// c/lib/tree_kin.c, c/stub/tree_stand_ins.c): a shell's `( loop & )` and a
// program's double fork are checkpointed with the tree and restarted as
// init's children at their pids, in their group and session, made again
// around a stand-in where the leader is gone; a process in the tree's group
// that does not run ckpt is still refused in one line.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, fixture, Running, runToEnd, spawn, until } from "./harness.ts";
import { checkpointWhen, processesIn } from "./tree-runs.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);


function killAllIn(where: string) {
  for (const pid of processesIn(where))
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
}

const count = (out: string, line: string) => out.split("\n").filter((l) => l === line).length;
const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l)).sort();


const SCRIPT =
  '( for i in $(seq 1 40); do echo "bg $i" >> OUT; sleep 0.1; done & ); for i in $(seq 1 40); do echo "fg $i"; sleep 0.1; done; wait';
const outLines = () => readFileSync(join(dir, "OUT"), "utf8").split("\n").filter(Boolean);
const numbered = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} ${i + 1}`);

test("a shell's ( loop & ): the double-forked loop is checkpointed and restarted with the shell, twice, and both finish, in order", async () => {
  // The uninterrupted run: what the restart must add up to.
  const plain = await runToEnd(["bash", "-c", SCRIPT], { cwd: dir });
  await until(() => outLines().length === 40, () => `OUT: ${outLines().length} lines`);
  expect(plain.stdout.split("\n").filter(Boolean)).toEqual(numbered("fg"));
  expect(outLines()).toEqual(numbered("bg"));
  await until(() => processesIn(dir).length === 0, () => `left: ${processesIn(dir)}`);
  rmSync(join(dir, "OUT"));

  const before = await checkpointWhen(dir, ["setsid", CKPT, "bash", "-c", SCRIPT], (o) => o.includes("fg 10\n"), running);
  const bgBefore = outLines().length;
  expect(bgBefore).toBeGreaterThan(0);
  expect(bgBefore).toBeLessThan(40); // the loop was mid-way: it is in the checkpoint, not done
  expect(processesIn(dir)).toEqual([]); // the stopping checkpoint ended it too
  // Checkpointed again inside the restart's namespace (the loop is init's child there), and restarted once more.
  const middle = await checkpointWhen(dir, [CKPT, "restart"], (o) => o.includes("fg 20\n"), running);
  await until(() => processesIn(dir).length === 0, () => `left: ${processesIn(dir)}`); // init last, once the tree is gone
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect((before + middle + rest.stdout).split("\n").filter(Boolean)).toEqual(numbered("fg"));
  await until(() => outLines().length >= 40, () => `OUT: ${outLines().length} lines`);
  expect(outLines()).toEqual(numbered("bg"));
}, 120000);

test("a double-forked grandchild keeps init as its parent, its group and session across the restart; the root waits for it", async () => {
  await checkpointWhen(dir, ["setsid", CKPT, fixture("tree-double-fork"), "orphan"], (o) => count(o, "ready") === 2, running);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout)).toEqual(["PASS grandchild 1 keeps its parent (init), group and session"]);
  expect(rest.stdout.split("\n").filter((l) => l.startsWith("grandchild "))).toEqual([1, 2, 3].map((i) => `grandchild 1 line ${i}`));
  expect(rest.stdout.endsWith("root done\n")).toBe(true); // after the grandchild's lines: it waited for its end
  expect(rest.code).toBe(0);
}, 90000);

/** What each grandchild checks from inside: its parent, group and session, and that kill(-pgid) reached it. */
const groupChecks = (parent: string, grandchildren: number[]) =>
  [
    "PASS SIGTERM sent to the group whose leader is gone",
    ...grandchildren.flatMap((n) => [`PASS grandchild ${n} got SIGTERM sent to its group`, `PASS grandchild ${n} keeps its parent (${parent}), group and session`]),
  ].sort();

for (const mode of ["group", "session"]) {
  test(`a ${mode} whose leader exited: made again around a stand-in, and kill(-pgid) after the restart reaches both grandchildren`, async () => {
    await checkpointWhen(dir, ["setsid", CKPT, fixture("tree-double-fork"), mode], (o) => count(o, "ready") === 3, running);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(checksOf(rest.stdout)).toEqual(groupChecks("init", [1, 2]));
    expect(rest.stdout.endsWith("root done\n")).toBe(true);
    expect(rest.code).toBe(0);
  }, 90000);
}

test("a pipeline whose first process exited: the second, still the root's child, is in the leader's group again, and kill(-pgid) reaches it", async () => {
  await checkpointWhen(dir, ["setsid", CKPT, fixture("tree-double-fork"), "pipeline"], (o) => count(o, "ready") === 2, running);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout)).toEqual(groupChecks("the launched process", [1]));
  expect(rest.code).toBe(0);
}, 90000);

/** A process's name, or "" once it is gone. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

test("a process of the tree a subreaper took when its parent exited is refused in one line naming both, the tree running on", async () => {
  const run = spawn([fixture("tree-subreaper"), CKPT, fixture("tree-double-fork"), "orphan"], { cwd: dir });
  running.push(run);
  try {
    await run.waitFor((o) => count(o, "ready") === 2);
    const tree = processesIn(dir).filter((p) => commOf(p).startsWith("tree-double-fo"));
    expect(tree).toHaveLength(2); // the root and the grandchild
    const [root, grandchild] = tree.sort((a, b) => a - b);
    process.kill(root!, "SIGUSR2");
    await until(() => run.stderr.includes("\n"), () => `stderr: ${run.stderr}`);
    expect(run.stderr).toMatch(
      new RegExp(`^ckpt: checkpoint failed: process ${grandchild} \\(tree-double-fo[^)]*\\) was taken by subreaper ${run.pid} when its parent exited[^\\n]*; the program continues\\n$`),
    );
    expect(run.proc.exitCode).toBe(null); // it runs on
  } finally {
    killAllIn(dir);
  }
}, 60000);

test("a process in the tree's group that does not run ckpt (its parent exited) is refused in one line, the tree running on", async () => {
  const run = spawn(["setsid", CKPT, fixture("tree-double-fork"), "outsider"], { cwd: dir });
  running.push(run);
  try {
    await run.waitFor((o) => count(o, "ready") === 2);
    // The second grandchild's exec of sleep may come after both readies.
    let sleeper: number | undefined;
    const findSleeper = () => (sleeper = processesIn(dir).find((p) => commOf(p) === "sleep")) !== undefined;
    await until(findSleeper, () => "no sleep process in the tree's directory");
    process.kill(run.pid, "SIGUSR2");
    await until(() => run.stderr.includes("\n"), () => `stderr: ${run.stderr}`);
    expect(run.stderr).toMatch(
      new RegExp(`^ckpt: .*process ${sleeper} \\(sleep\\) is in process group \\d+ of the tree but not in the tree \\(its parent exited\\)[^\\n]*\\n$`),
    );
    expect(run.proc.exitCode).toBe(null); // it runs on
    expect(readdirSync(dir).filter((f) => f.startsWith("myckpt") || f.endsWith(".dat"))).toEqual([]);
  } finally {
    killAllIn(dir);
  }
}, 60000);
