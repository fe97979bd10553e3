// The interactive mode in a real pseudo-terminal: the compiled ckpt runs in
// a tmux session (its own server socket, killed afterwards even on
// failure); keys go in with send-keys and the screen comes back with
// capture-pane, polled until the expected text appears or a deadline passes.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, CKPT, demo, EXIT_CHECKPOINTED, runToEnd, tempDir } from "./harness.ts";

const TMUX = "/usr/bin/tmux";

let dir: string;
let cleanup: () => void;
let socket: string;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  socket = join(dir, "tmux.sock");
});
afterEach(() => {
  Bun.spawnSync([TMUX, "-S", socket, "kill-server"], { stderr: "ignore" });
  cleanup();
});

function tmux(...args: string[]): string {
  const r = Bun.spawnSync([TMUX, "-S", socket, ...args], { stdout: "pipe", stderr: "pipe", timeout: 10000 });
  if (r.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** `ckpt` with no arguments on a 200x50 terminal; the pane stays after it ends, showing its exit status. */
function startCkpt(): void {
  const shell = `cd '${dir}' && '${CKPT}'; echo "[exit status $?]"; sleep 120`;
  tmux("new-session", "-d", "-s", "ckpt", "-x", "200", "-y", "50", shell);
}

/** The whole pane, scrollback included. */
const screen = () => tmux("capture-pane", "-p", "-S", "-", "-t", "ckpt");

async function waitForScreen(text: string | RegExp, ms = 20000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (typeof text === "string" ? s.includes(text) : text.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`not on screen after ${ms} ms: ${text}\n--- screen ---\n${s}`);
    await Bun.sleep(50);
  }
}

const keys = (...k: string[]) => tmux("send-keys", "-t", "ckpt", ...k);

test("restart from an image picked from the list: the program's output continues in the terminal, and it exits", async () => {
  const program = join(dir, "ticker");
  copyFileSync(demo("ticker"), program); // a private copy: restart checks the file is unchanged
  chmodSync(program, 0o755);
  const reference = await runToEnd([program, "80"], { cwd: dir });
  const first = await checkpointRun([program, "80"], { cwd: dir, afterLines: 20 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  writeFileSync(join(dir, "broken.dat"), "CKPTIMG\0"); // listed, not selectable
  const last = reference.stdout.trimEnd().split("\n").pop()!;
  const resumed = reference.stdout.split("\n")[first.stdout.split("\n").length - 1]!;

  startCkpt();
  await waitForScreen("What do you want to do?");
  keys("Down", "Down");
  await waitForScreen(/● Restart from an image/);
  keys("Enter");
  const list = await waitForScreen("Image to restart from");
  expect(list).toMatch(/myckpt\.dat +ticker 80 +just now +\d+\.\d KiB/);
  expect(list).toMatch(/broken\.dat +\(unusable\)/);
  keys("Enter");
  const end = await waitForScreen("[exit status 0]");
  expect(end).toContain(`Restarting from ${join(dir, "myckpt.dat")}`);
  // The first line the restarted program prints is the one after the checkpoint, and it runs to the end.
  expect(end).toContain(`${resumed}\n`);
  expect(end).toContain(`${last}\n[exit status 0]`);
  expect(end).not.toContain(first.stdout.split("\n")[0] + "\n"); // nothing printed twice
}, 60000);

test("Ctrl-C at the first prompt cancels cleanly with status 130", async () => {
  startCkpt();
  await waitForScreen("What do you want to do?");
  keys("C-c");
  const end = await waitForScreen("[exit status 130]");
  expect(end).toContain("Cancelled");
  expect(end).not.toContain("ckpt:"); // no error line
}, 30000);

test("Ctrl-C at a later prompt too", async () => {
  startCkpt();
  await waitForScreen("What do you want to do?");
  keys("Enter");
  await waitForScreen("Program to run");
  keys("-l", "ech");
  await waitForScreen("ech");
  keys("C-c");
  const end = await waitForScreen("[exit status 130]");
  expect(end).toContain("Cancelled");
}, 30000);
