// A program whose event loop holds a descriptor ckpt cannot restore yet
// (node's eventfd; its epoll is restored, c/kinds/fd_epoll.c) is refused:
// dropping those descriptors made node's restart abort with status 134 and
// no message. The checkpoint is refused instead, with or without
// --drop-unsupported-fds, naming the descriptor, and the program runs on.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ckpt, type Running, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const ticks = (r: Running) => (r.stdout.match(/^tick/gm) ?? []).length;

const node = Bun.which("node");
if (!node) console.warn("event-loop-fds.test.ts: node is not installed; its tests are skipped");

for (const options of [["--drop-unsupported-fds"], []]) {
  test.skipIf(!node)(`node -e 'setInterval(...)' ${options.join(" ")}: refused at checkpoint, it runs on`, async () => {
    const run = ckpt([...options, node!, "-e", "let i = 0; setInterval(() => console.log('tick', i++), 50)"], { cwd: dir });
    try {
      await run.waitFor((o) => ticks({ stdout: o } as Running) >= 3);
      process.kill(run.pid, "SIGUSR2");
      const deadline = Date.now() + 20000;
      while (!run.stderr.includes("checkpoint failed") && Date.now() < deadline) await Bun.sleep(10);
      expect(run.stderr).toMatch(
        /^ckpt: checkpoint failed: fd \d+ \(anon_inode:\[eventfd\]\) belongs to the program's event loop and cannot be restored yet; .*; the program continues\n$/,
      );
      expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
      const before = ticks(run);
      await run.waitFor(() => ticks(run) > before + 2);
    } finally {
      run.proc.kill("SIGKILL");
      await run.done;
    }
  }, 30000);
}
