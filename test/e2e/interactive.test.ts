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

test("run with a period: the program runs in the terminal and is checkpointed in the background", async () => {
  startCkpt();
  await waitForScreen("What do you want to do?");
  keys("Enter");
  await waitForScreen("Program to run");
  keys("-l", demo("ticker"));
  keys("Enter");
  await waitForScreen("Its arguments");
  keys("-l", "600");
  keys("Enter");
  await waitForScreen("Checkpoint it periodically");
  keys("-l", "5");
  keys("Enter");
  await waitForScreen("--interval '5': give a number and a unit"); // refused at the prompt
  keys("-l", "00ms");
  keys("Enter");
  await waitForScreen(/and every 500ms in the background/);
  // The program runs on while its checkpoints appear; the newest one names it.
  const deadline = Date.now() + 20000;
  let info = "";
  while (Date.now() < deadline) {
    const r = await runToEnd([CKPT, "info", join(dir, "myckpt.dat")], { cwd: dir });
    if (r.code === 0) ({ stdout: info } = r);
    if (info) break;
    await Bun.sleep(200);
  }
  expect(info).toContain(`arguments  ${demo("ticker")} 600`);
  // The prompts' own terminal descriptors are not the program's: it has 0-2 only, as run from a shell.
  expect(info.split("open files")[1]!.split("\n\n")[0]).toMatch(/^ \(3\):\n  FD .*\n +0 .*\n +1 .*\n +2 [^\n]*$/);
  expect(screen()).not.toContain("[exit status"); // still running: never stopped for it
}, 60000);
