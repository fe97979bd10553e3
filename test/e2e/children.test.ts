// Until process trees are supported, a program with child processes in any
// state (running, exited but not waited for, stopped) cannot be
// checkpointed: the request fails before anything stops, naming each child,
// and the program runs on. Once it has reaped them, checkpoint and restart
// work, and the restarted program finds no child (checked from inside).
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const ticks = (run: Running) => (run.stdout.match(/^tick /gm) ?? []).length;
const show = (run: Running) => () => `stdout ${JSON.stringify(run.stdout)} stderr ${JSON.stringify(run.stderr)}`;

for (const [mode, name] of [["live", "sleep"], ["zombie", "children, zombie"], ["stopped", "children, stopped"]] as const) {
  for (const how of ["kill -USR2", "ckpt checkpoint"] as const) {
    test(`a ${mode} child: ${how} is refused naming it, the program runs on; after reaping, restart works`, async () => {
      const run = ckpt([fixture("children"), mode, "60"], { cwd: dir });
      await run.waitFor((o) => /^child \d+/m.test(o));
      const child = Number(/^child (\d+)/m.exec(run.stdout)![1]);
      const refusal = `child process ${child} (${name})`;
      if (how === "kill -USR2") {
        process.kill(run.pid, "SIGUSR2");
        await until(() => run.stderr.includes("checkpoint failed"), show(run));
        expect(run.stderr).toContain(`ckpt: checkpoint failed: ${refusal}: `);
        expect(run.stderr).toMatch(/the program continues\n$/);
      } else {
        const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`ckpt: checkpoint of ${run.pid} failed: ${refusal}: `);
        expect(r.stderr.split("\n").length).toBe(2); // one line
      }
      expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
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
}

const noMake = !Bun.which("make");
if (noMake) console.warn("children.test.ts: make is not installed; its test is skipped");
test.skipIf(noMake)("`ckpt make` whose recipe runs sleep: refused naming the shell or sleep, make finishes normally", async () => {
  await Bun.write(join(dir, "Makefile"), "all:\n\t@echo started; sleep 1; echo finished\n");
  const run = ckpt(["make", "-s"], { cwd: dir });
  await run.waitFor((o) => o.includes("started"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(/^ckpt: checkpoint failed: child process \d+ \((sh|sleep)\): .*the program continues\n$/);
  expect(run.stdout).toBe("started\nfinished\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 30000);
