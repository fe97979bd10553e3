// Node's event loop (libuv: epoll, eventfds, a signal pipe, worker threads)
// comes back: `node -e 'setInterval(...)'` checkpointed mid-run prints every
// tick exactly once across the restart. A descriptor of an event loop that
// ckpt still cannot restore (fs.watch's inotify) refuses the checkpoint,
// with or without --drop-unsupported-fds (dropping such descriptors made
// node's restart abort with status 134 and no message), naming it, and the
// program runs on.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CKPT, ckpt, EXIT_CHECKPOINTED, runToEnd, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

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

const WATCHER = "let i = 0; require('fs').watch('.', () => {}); setInterval(() => console.log('tick', i++), 50)";

for (const options of [["--drop-unsupported-fds"], []]) {
  test.skipIf(!node)(`node with fs.watch ${options.join(" ")}: its inotify refuses the checkpoint, it runs on`, async () => {
    const run = ckpt([...options, node!, "-e", WATCHER], { cwd: dir });
    try {
      await run.waitFor((o) => ticks(o).length >= 3);
      process.kill(run.pid, "SIGUSR2");
      const deadline = Date.now() + 20000;
      while (!run.stderr.includes("checkpoint failed") && Date.now() < deadline) await Bun.sleep(10);
      expect(run.stderr).toMatch(
        /^ckpt: checkpoint failed: fd \d+ \(anon_inode:inotify\) belongs to the program's event loop and cannot be restored yet; .*; the program continues\n$/,
      );
      expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
      const before = ticks(run.stdout).length;
      await run.waitFor((o) => ticks(o).length > before + 2);
    } finally {
      run.proc.kill("SIGKILL");
      await run.done;
    }
  }, 30000);
}
