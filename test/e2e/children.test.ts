// A program's child processes are members of its tree (docs/process-trees.md):
// a checkpoint of the program saves a running child into a member image
// beside the program's, and records a child that exited but was not waited
// for, with the status its parent will collect. A stopped child cannot be
// saved: the request fails before anything stops, naming it, and the
// program runs on; once it has reaped the child, checkpoint and restart
// work, and the restarted program finds no child (checked from inside).
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd, until } from "./harness.ts";
import { descendants, memberFiles, memberTable, stillRuns } from "./tree-image.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const ticks = (run: Running) => (run.stdout.match(/^tick /gm) ?? []).length;
const show = (run: Running) => () => `stdout ${JSON.stringify(run.stdout)} stderr ${JSON.stringify(run.stderr)}`;

async function request(run: Running, how: "kill -USR2" | "ckpt checkpoint") {
  if (how === "kill -USR2") process.kill(run.pid, "SIGUSR2");
  else {
    const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
    expect(r.code).toBe(0);
  }
}

for (const how of ["kill -USR2", "ckpt checkpoint"] as const) {
  test(`a live child (an exec'd sleep): ${how} saves it beside the program's image, and both stop`, async () => {
    const run = ckpt([fixture("children"), "live", "60"], { cwd: dir });
    await run.waitFor((o) => /^child \d+/m.test(o));
    const child = Number(/^child (\d+)/m.exec(run.stdout)![1]);
    await request(run, how);
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const table = memberTable(join(dir, "myckpt.dat"));
    expect(table.map((m) => [m.pid, m.ppid, m.kind])).toEqual([[child, run.pid, 1 /* LIVE */]]);
    expect(memberFiles(dir)).toEqual(table.map((m) => m.file));
    expect(stillRuns(child)).toBe(false);
  }, 60000);

  test(`a zombie child: ${how} records its exit status for the parent, with no image of its own`, async () => {
    const run = ckpt([fixture("children"), "zombie", "60"], { cwd: dir });
    await run.waitFor((o) => /^child \d+/m.test(o));
    const child = Number(/^child (\d+)/m.exec(run.stdout)![1]);
    await request(run, how);
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const table = memberTable(join(dir, "myckpt.dat"));
    // _exit(7): the status wait4 reports is 7 << 8
    expect(table.map((m) => [m.pid, m.ppid, m.kind, m.waitStatus, m.file])).toEqual([[child, run.pid, 2 /* ZOMBIE */, 0x700, ""]]);
    expect(memberFiles(dir)).toEqual([]);
  }, 60000);

  test(`a stopped child: ${how} is refused naming it, the program runs on; after reaping, restart works`, async () => {
    const run = ckpt([fixture("children"), "stopped", "60"], { cwd: dir });
    await run.waitFor((o) => /^child \d+/m.test(o));
    const child = Number(/^child (\d+)/m.exec(run.stdout)![1]);
    const refusal = `process ${child} (children) is stopped`;
    if (how === "kill -USR2") {
      process.kill(run.pid, "SIGUSR2");
      await until(() => run.stderr.includes("checkpoint failed"), show(run));
      expect(run.stderr).toContain(`ckpt: checkpoint failed: ${refusal} `);
      expect(run.stderr).toMatch(/the program continues\n$/);
    } else {
      const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`ckpt: checkpoint of ${run.pid} failed: ${refusal} `);
      expect(r.stderr.split("\n").length).toBe(2); // one line
    }
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
    expect(memberFiles(dir)).toEqual([]);
    const before = ticks(run);
    await until(() => ticks(run) > before + 2, show(run)); // it runs on

    process.kill(run.pid, "SIGUSR1"); // reap the child
    await run.waitFor((o) => /^reaped /m.test(o));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toEndWith("tick 59\nPASS no children\n");
    const last = Number(/tick (\d+)\n$/.exec(run.stdout)![1]);
    expect(second.stdout.startsWith(`tick ${last + 1}\n`)).toBe(true);
  }, 60000);
}

const noMake = !Bun.which("make");
if (noMake) console.warn("children.test.ts: make is not installed; its test is skipped");
test.skipIf(noMake)("`ckpt make` whose recipe runs sleep: make, its shell and sleep are saved as one tree, and all stop", async () => {
  await Bun.write(join(dir, "Makefile"), "all:\n\t@echo started; sleep 30; echo finished\n");
  const run = ckpt(["make", "-s"], { cwd: dir });
  await run.waitFor((o) => o.includes("started"));
  // the recipe's shell, then sleep, spawned through the wrapped posix_spawn and exec
  await until(() => descendants(run.pid) === 2, show(run));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stdout).toBe("started\n");
  const table = memberTable(join(dir, "myckpt.dat"));
  const [shell, sleep] = table;
  expect(table.length).toBe(2);
  expect(shell!.ppid).toBe(run.pid);
  expect(sleep!.ppid).toBe(shell!.pid);
  expect(memberFiles(dir)).toEqual(table.map((m) => m.file).sort());
}, 30000);
