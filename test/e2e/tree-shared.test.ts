// What the processes of a tree share besides pipes and files
// (docs/process-trees.md, "Memory between members"; c/lib/tree_shared_memory.c,
// c/stub/tree_memory.c): memory mapped shared across fork, anonymous, under
// a name in /dev/shm, or unlinked at once as Python's semaphores are. Each
// program is checkpointed mid-work in stop mode and restarted; its output
// must read as one uninterrupted run, with the checks it prints from
// inside after the restart. What cannot come back stays refused in one
// line, the program running on.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, fixture, ROOT, runToEnd, spawn } from "./harness.ts";
import { checkpointWhen } from "./tree-runs.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const IMAGE = "myckpt.dat";
const memberFiles = () => readdirSync(dir).filter((f) => f.startsWith(`${IMAGE}.`));


const ROUNDS = 30;
const counterLines = (out: string) => out.split("\n").filter((l) => /^(round|final) /.test(l));
const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l)).sort();

for (const mode of ["anon", "named", "unlinked", "views"]) {
  test(`parent and two children, pipes and a shared counter (${mode}): output, counter, pids, waitpid and a held mutex as in an uninterrupted run`, async () => {
    const whole = await runToEnd([fixture("tree-shared-counter"), String(ROUNDS), mode], { cwd: dir });
    expect(whole.code).toBe(7);
    const before = await checkpointWhen(dir, ["setsid", CKPT, fixture("tree-shared-counter"), String(ROUNDS), mode], (o) =>
      o.includes("round 5 "),
    );
    expect(memberFiles()).toHaveLength(2);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(rest.code).toBe(7);
    // The counter goes on from where the children left it, through memory both map: 2 per round, as uninterrupted.
    expect(counterLines(before + rest.stdout)).toEqual(counterLines(whole.stdout));
    expect(checksOf(rest.stdout)).toEqual(checksOf(whole.stdout));
    expect(checksOf(rest.stdout)).toContain("PASS the error-checking mutex held across the checkpoint unlocks");
  }, 90000);
}

const PY_ITEMS = 24;
const didLines = (out: string) => out.split("\n").filter((l) => l.startsWith("did "));
const resultsLine = (out: string) => out.split("\n").filter((l) => l.startsWith("results "));

const PY_WHAT: Record<string, string> = {
  pool: "multiprocessing.Pool(2).map",
  executor: "concurrent.futures.ProcessPoolExecutor(2)",
  duplex: "a multiprocessing.Process answering over a duplex Pipe() (a socket pair, both ends in both processes)",
};
for (const kind of ["pool", "executor", "duplex"]) {
  const what = PY_WHAT[kind];
  test(`${what}, checkpointed mid-work: the results equal an uninterrupted run's`, async () => {
    const script = join(ROOT, "test", "fixtures", "tree-pool.py");
    const whole = await runToEnd(["python3", script, kind, String(PY_ITEMS)], { cwd: dir });
    expect(whole.code).toBe(0);
    expect(resultsLine(whole.stdout)).toHaveLength(1);
    const before = await checkpointWhen(dir, ["setsid", CKPT, "python3", script, kind, String(PY_ITEMS)], (o) => didLines(o).length >= 4);
    expect(resultsLine(before)).toEqual([]); // mid-work: the map had not returned
    expect(memberFiles().length).toBeGreaterThanOrEqual(kind === "duplex" ? 1 : 2); // the workers at least
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(rest.code).toBe(0);
    expect(resultsLine(rest.stdout)).toEqual(resultsLine(whole.stdout));
    // Every item done once: none lost or done again across the restart.
    expect([...didLines(before), ...didLines(rest.stdout)].sort()).toEqual(didLines(whole.stdout).sort());
  }, 90000);
}

const refusals: [string, RegExp][] = [
  ["sysv", /SysV shared memory segment id \d+, which process \d+ \(tree-shared-ref\) maps, is attached by a process outside the tree too, which the restart could not attach again/],
  ["fd", /fd 3 of process \d+ \(tree-shared-ref\) holds \/memfd:counter \(deleted\), which the tree maps shared: the restart would make the descriptor and the mapping two objects/],
  ["outsider", /memory shared between process \d+ \(tree-shared-ref\) and process \d+ \(tree-shared-ref\) \(\/dev\/zero\): the second is not in the tree/],
];

for (const [mode, line] of refusals) {
  test(`shared memory a restart could not make again (${mode}) is refused in one line, the program running on`, async () => {
    const run = spawn(["setsid", CKPT, fixture("tree-shared-refused"), mode, "60"], { cwd: dir });
    await run.waitFor((o) => o.includes("tick 3\n"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
    const said = run.stderr.split("\n").filter((l) => l !== "");
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^ckpt: checkpoint failed: /);
    expect(said[0]).toMatch(line);
    expect(said[0]).toMatch(/; the program continues$/);
    expect(run.stdout).toContain("tick 60\n");
    expect(readdirSync(dir).filter((f) => f.startsWith(IMAGE))).toEqual([]);
  }, 60000);
}

const pongs = (out: string) => out.split("\n").filter((l) => l.startsWith("pong "));

for (const type of ["stream", "seqpacket"]) {
  test(`a ${type} socket pair between parent and child, a number unread in it: the ping-pong goes on as uninterrupted`, async () => {
    const whole = await runToEnd([fixture("tree-socketpair"), "30", type], { cwd: dir });
    expect(whole.code).toBe(7);
    const before = await checkpointWhen(dir, ["setsid", CKPT, fixture("tree-socketpair"), "30", type], (o) => o.includes("pong 8\n"));
    expect(memberFiles()).toHaveLength(1);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(rest.code).toBe(7);
    expect(pongs(before + rest.stdout)).toEqual(pongs(whole.stdout));
    expect(checksOf(rest.stdout)).toEqual(["PASS the child keeps its pid", "PASS the child reaped by its pid, exit 11", "PASS the parent keeps its pid"]);
  }, 90000);
}
