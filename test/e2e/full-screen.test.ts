// Full-screen programs in a real terminal (a tmux pane of fixed size):
// checkpointed, the shell gets its own terminal modes back (no staircase
// output, echo on); restarted in the same pane after `clear`, the program
// is sent SIGWINCH and its screen comes back. Checked by reading the pane
// (tmux capture-pane) in bounded polling loops, never fixed sleeps.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, ROOT, runToEnd, tempDir } from "./harness.ts";

const have = (tool: string) => Bun.which(tool) !== null;
const PYTHON = "/usr/bin/python3"; // not a pyenv shim: a script wrapper would drop the preload

let dir: string;
let cleanup: () => void;
let pane: Pane;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(async () => {
  await pane?.close();
  cleanup();
});

class Pane {
  readonly sock: string;
  constructor(readonly cwd: string) {
    this.sock = join(cwd, "tmux.sock");
  }
  tmux(args: string[]) {
    return runToEnd(["tmux", "-S", this.sock, ...args], { cwd: this.cwd });
  }
  async open() {
    const r = await this.tmux(["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", this.cwd,
      "env PS1='$ ' TERM=screen bash --norc --noprofile"]);
    if (r.code !== 0) throw new Error(`tmux: ${r.stderr}`);
    await this.until((s) => s.includes("$"), "a shell prompt");
  }
  async type(text: string) {
    await this.tmux(["send-keys", "-t", "t", "-l", text]);
    await this.tmux(["send-keys", "-t", "t", "Enter"]);
  }
  async keys(...k: string[]) {
    await this.tmux(["send-keys", "-t", "t", ...k]);
  }
  async screen(): Promise<string> {
    return (await this.tmux(["capture-pane", "-p", "-t", "t"])).stdout;
  }
  /** The screen once `ok` holds; fails with the screen after a bounded wait. */
  async until(ok: (screen: string) => boolean, what: string): Promise<string> {
    let s = "";
    for (let i = 0; i < 1000; i++) {
      s = await this.screen();
      if (ok(s)) return s;
      await Bun.sleep(20);
    }
    throw new Error(`never saw ${what}; the screen:\n${s}`);
  }
  /** The program the pane's shell runs (ckpt execs it in place: same pid). */
  async program(): Promise<number> {
    const shell = (await this.tmux(["display", "-p", "-t", "t", "#{pane_pid}"])).stdout.trim();
    for (let i = 0; i < 500; i++) {
      const kid = (await runToEnd(["pgrep", "-P", shell], { cwd: this.cwd })).stdout.trim();
      if (kid) return Number(kid.split("\n")[0]);
      await Bun.sleep(20);
    }
    throw new Error("the pane runs no program");
  }
  async close() {
    await this.tmux(["kill-server"]);
  }
}

/**
 * Checkpoint what the pane runs with `ckpt checkpoint` (it stops), check
 * the shell is back in sane modes, clear the screen and restart there.
 * Returns the restarted screen once `back` holds.
 */
async function checkpointAndRestart(back: (screen: string) => boolean, what: string): Promise<string> {
  const pid = await pane.program();
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.stdout).toContain("it stopped with exit status 85");
  // printf writes "modes: ... end" only when run, never in the echoed command line.
  await pane.type("clear; printf 'mo%s: %s end\\n' des \"$(stty -a | tr ' ;' '\\n\\n' | grep -x -e '-*icanon' -e '-*echo' -e '-*opost' | tr '\\n' ' ')\"");
  const modes = /modes: (.*) end/.exec(await pane.until((s) => /modes: .* end/.test(s), "stty's answer"))![1]!;
  expect(modes.trim().split(" ").sort()).toEqual(["echo", "icanon", "opost"]);
  await pane.type(`clear; ${CKPT} restart`);
  return pane.until(back, what);
}

test.skipIf(!have("tmux") || !have("less"))("less on a long file: the same page comes back", async () => {
  writeFileSync(join(dir, "long.txt"), Array.from({ length: 3000 }, (_, i) => `line ${i + 1} of the long file`).join("\n") + "\n");
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} less long.txt`);
  await pane.until((s) => s.includes("line 1 of the long file"), "less's first page");
  await pane.keys("1500g");
  const before = await pane.until((s) => s.split("\n")[0] === "line 1500 of the long file" && /^:/m.test(s), "line 1500 at the top");
  const after = await checkpointAndRestart((s) => s.includes("line 1500 of the long file"), "less's page again");
  expect(after).toBe(before);
  await pane.keys("q");
  await pane.until((s) => /\$ *$/.test(s.trimEnd()), "the prompt after q");
}, 90000);

test.skipIf(!have("tmux") || !have(PYTHON))("a Python curses program: its screen and counter come back, redrawn on SIGWINCH", async () => {
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} ${PYTHON} ${join(ROOT, "demos", "curses-counter.py")}`);
  const before = await pane.until((s) => /counter: [1-9]\d+/.test(s), "the counter");
  expect(before).toContain("resizes: 0");
  const n = Number(/counter: (\d+)/.exec(before)![1]);
  const after = await checkpointAndRestart((s) => /resizes: 1/.test(s), "the redrawn screen");
  expect(after.split("\n")[0]).toBe("ckpt curses demo");
  expect(after).toContain("size: 24x80");
  expect(Number(/counter: (\d+)/.exec(after)![1])).toBeGreaterThanOrEqual(n);
  await pane.keys("q");
}, 90000);
