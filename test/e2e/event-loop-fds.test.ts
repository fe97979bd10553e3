// Node's event loop (libuv: epoll, eventfds, a signal pipe, worker threads)
// comes back: `node -e 'setInterval(...)'` checkpointed mid-run prints every
// tick exactly once across the restart, and so does a program that also
// waits on fs.watch (inotify) and promises.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, runToEnd, tempDir } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const ticks = (out: string) => out.match(/^tick \d+$/gm) ?? [];

const node = Bun.which("node");
if (!node) console.warn("event-loop-fds.test.ts: node is not installed; its tests are skipped");

test.skipIf(!node)("node -e 'setInterval(...)': checkpointed and restarted, every tick once, then it exits 0", async () => {
  const COUNT = 40;
  const script = `let i = 0; const t = setInterval(() => { console.log('tick', i++); if (i === ${COUNT}) clearInterval(t); }, 50)`;
  const run = ckpt([node!, "-e", script], { cwd: dir });
  await run.waitFor((o) => ticks(o).length >= 3);
  process.kill(run.pid, "SIGUSR2");
  expect({ code: await run.exit(), stderr: run.stderr }).toEqual({
    code: EXIT_CHECKPOINTED,
    stderr: expect.stringContaining("ckpt: checkpoint written to"),
  });
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: "" });
  expect([...ticks(run.stdout), ...ticks(second.stdout)]).toEqual(Array.from({ length: COUNT }, (_, i) => `tick ${i}`));
}, 60000);

// fs.watch (an inotify watch on the directory, made through libc's
// inotify_add_watch), timers and promises together: the file the program
// waits for is written after the restart, and the whole output is the same
// as an uninterrupted run's.
const WATCHER = `const fs = require('fs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const seen = new Promise((resolve) => {
    const w = fs.watch('.', (ev, name) => { if (name === 'trigger') { w.close(); resolve(ev + ' ' + name); } });
  });
  for (let i = 0; i < 20; i++) { console.log('tick', i); await sleep(50); }
  fs.writeFileSync('trigger', 'x');
  console.log('event', await seen);
})();`;

test.skipIf(!node)("node with fs.watch, timers and promises: restarted, it sees a file written after the restart, and prints what an uninterrupted run does", async () => {
  const elsewhere = tempDir();
  try {
    const plain = await runToEnd([node!, "-e", WATCHER], { cwd: elsewhere.dir });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toEndWith("tick 19\nevent rename trigger\n");

    const run = ckpt([node!, "-e", WATCHER], { cwd: dir });
    await run.waitFor((o) => ticks(o).length >= 3);
    process.kill(run.pid, "SIGUSR2");
    expect({ code: await run.exit(), stderr: run.stderr }).toEqual({
      code: EXIT_CHECKPOINTED,
      stderr: expect.stringContaining("ckpt: checkpoint written to"),
    });
    expect(existsSync(join(dir, "trigger"))).toBe(false);
    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout + second.stdout).toBe(plain.stdout);
  } finally {
    elsewhere.cleanup();
  }
}, 60000);
