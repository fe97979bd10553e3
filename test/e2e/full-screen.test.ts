// Full-screen programs in a real terminal (a tmux pane of fixed size):
// checkpointed, the shell gets its own terminal modes back (no staircase
// output, echo on); restarted in the same pane after `clear`, the program
// is sent SIGWINCH and its screen comes back. Checked by reading the pane
// (tmux capture-pane) in bounded polling loops, never fixed sleeps.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, demo, ROOT, runToEnd, tempDir } from "./harness.ts";
import { Pane } from "./tmux-pane.ts";

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

let lastRequest: { stderr: string } | undefined;

/**
 * Checkpoint what the pane runs with `ckpt checkpoint` (it stops), check
 * the shell is back in sane modes, clear the screen and restart there.
 * Returns the restarted screen once `back` holds.
 */
async function checkpointAndRestart(back: (screen: string) => boolean, what: string, beforeRestart?: () => Promise<void>): Promise<string> {
  const pid = await pane.program();
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.stdout).toContain("it stopped with exit status 85");
  lastRequest = request;
  // printf writes "modes: ... end" only when run, never in the echoed command line.
  await pane.type("clear; printf 'mo%s: %s end\\n' des \"$(stty -a | tr ' ;' '\\n\\n' | grep -x -e '-*icanon' -e '-*echo' -e '-*opost' | tr '\\n' ' ')\"");
  const modes = /modes: (.*) end/.exec(await pane.until((s) => /modes: .* end/.test(s), "stty's answer"))![1]!;
  expect(modes.trim().split(" ").sort()).toEqual(["echo", "icanon", "opost"]);
  await beforeRestart?.();
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

test.skipIf(!have("tmux") || !have(PYTHON))("a Python curses program: its screen and counter come back on a bigger terminal, redrawn on SIGWINCH", async () => {
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} ${PYTHON} ${join(ROOT, "test", "fixtures", "curses-counter.py")}`);
  const before = await pane.until((s) => /counter: [1-9]\d+/.test(s), "the counter");
  expect(before).toContain("resizes: 0");
  const n = Number(/counter: (\d+)/.exec(before)![1]);
  // Restarted on a bigger terminal: the program must see the new size.
  const bigger = async () => {
    await pane.tmux(["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
    await pane.type("clear; stty size");
    await pane.until((s) => /^30 100$/m.test(s), "the pane at 30x100");
  };
  const after = await checkpointAndRestart((s) => /resizes: 1/.test(s), "the redrawn screen", bigger);
  expect(after.split("\n")[0]).toBe("ckpt curses demo");
  expect(after).toContain("size: 30x100");
  expect(after.split("\n")[29]).toBe("q quits");
  expect(Number(/counter: (\d+)/.exec(after)![1])).toBeGreaterThanOrEqual(n);
  await pane.keys("q");
}, 90000);

test.skipIf(!have("tmux"))("a program stopping in the background leaves the shell's own modes alone", async () => {
  pane = new Pane(dir);
  await pane.open();
  // Launched in the foreground (so its launch-time modes are the shell's
  // cooked ones), then moved to the background with ^Z and bg.
  await pane.type(`${CKPT} ${demo("ticker")} 100000 >/dev/null`);
  // ^Z only stops the job once the job owns the terminal: bash's child
  // exists (pgrep finds it) a moment before it takes the foreground, and a
  // ^Z in that moment goes to bash, which ignores it (seen once in CI).
  await pane.untilForeground("ticker");
  await pane.keys("C-z");
  await pane.until((s) => /Stopped/.test(s), "the job stopped");
  await pane.type("bg; echo backgrounded");
  await pane.until((s) => /^backgrounded$/m.test(s) && /\$ *$/.test(s.trimEnd()), "the prompt again");
  const tty = (await pane.tmux(["display", "-p", "-t", "t", "#{pane_tty}"])).stdout.trim();
  const modes = async () => (await runToEnd(["stty", "-a", "-F", tty], { cwd: dir })).stdout;
  // At its prompt bash's line editor has the terminal in its own modes.
  expect(await modes()).toMatch(/(^|\s)-icanon(\s|$)/m);
  const pid = await pane.program();
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  // stderr too, so that a failure shows ckpt's reason (seen once, under heavy load).
  expect(request.stdout + request.stderr).toContain("it stopped with exit status 85");
  expect(await modes()).toMatch(/(^|\s)-icanon(\s|$)/m);
}, 90000);

/** top's header, line by line, reduced to its shape (numbers vary). */
const TOP_SHAPE = [/^top - \d\d:\d\d:\d\d up /, /^Tasks: +\d+ total/, /^%Cpu\(s\): /, /^MiB Mem : /, /^MiB Swap: /, /^$/, /^ +PID USER +PR +NI/];
const topShape = (screen: string) => TOP_SHAPE.every((re, i) => re.test(screen.split("\n")[i] ?? ""));

test.skipIf(!have("tmux") || !have("top"))("top -d 0.5: its header comes back, refreshing", async () => {
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} top -d 0.5`);
  const before = await pane.until(topShape, "top's header");
  expect(before.split("\n")[0]).toMatch(TOP_SHAPE[0]!);
  const after = await checkpointAndRestart((s) => topShape(s) || /cannot restart/.test(s), "top's header again");
  expect(topShape(after)).toBe(true);
  // Still refreshing: the clock line changes.
  const first = after.split("\n")[0];
  await pane.until((s) => topShape(s) && s.split("\n")[0] !== first, "top's next refresh");
  await pane.keys("q");
}, 90000);

test.skipIf(!have("tmux") || !have("vim"))("vim (SIGUSR2 is its own): buffer and position come back; the advice reached `ckpt checkpoint`", async () => {
  writeFileSync(join(dir, "long.txt"), Array.from({ length: 3000 }, (_, i) => `line ${i + 1} of the long file`).join("\n") + "\n");
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} vim -u DEFAULTS -i NONE -n long.txt`);
  await pane.until((s) => s.includes("line 1 of the long file"), "vim's first page");
  await pane.keys("1500G");
  const before = await pane.until((s) => s.includes("line 1500 of the long file") && /1500,1/.test(s), "line 1500 under the cursor");
  const after = await checkpointAndRestart((s) => s.includes("line 1500 of the long file") || /E128\d/.test(s), "vim's page again");
  expect(lastRequest!.stderr).toMatch(/ckpt: warning: the program installed its own handler for signal 12.*--signal/);
  const lines = (t: string) => t.split("\n").slice(0, 23);
  expect(lines(after)).toEqual(lines(before));
  expect(after.split("\n")[23]).toMatch(/1500,1/);
  await pane.type(":q!");
  await pane.until((s) => /\$ *$/.test(s.trimEnd()), "the prompt after :q!");
}, 90000);
