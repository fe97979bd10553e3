// A program on a terminal: its terminal settings (here, echo turned off)
// come back after a restart in a new terminal, whose default is echo on.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { CKPT, demo, runToEnd, spawn, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** Runs `command` on a fresh pseudo-terminal (util-linux `script`). */
const onTerminal = (command: string) => ["script", "-qfec", command, "/dev/null"];

test("terminal settings are restored when the restart runs on a terminal too", async () => {
  const first = spawn(onTerminal(`${CKPT} ${demo("tty-mode")}`), { cwd: dir });
  await first.waitFor((o) => o.includes("step 2"));
  const pid = Number((await runToEnd(["pgrep", "-n", "-x", "tty-mode"], { cwd: dir })).stdout.trim());
  process.kill(pid, "SIGUSR2");
  await first.exit();
  expect(first.stdout).toContain("checkpoint written");
  const fresh = await runToEnd(onTerminal("stty -a"), { cwd: dir });
  expect(fresh.stdout).toMatch(/(^|\s)echo(\s|$)/); // a new terminal echoes
  const second = await runToEnd(onTerminal(`${CKPT} restart`), { cwd: dir });
  const steps = second.stdout.replace(/\r/g, "").split("\n").filter((l) => l.startsWith("step"));
  expect(steps.length).toBeGreaterThan(2);
  expect(steps.every((l) => l.endsWith("echo off"))).toBe(true);
}, 60000);
