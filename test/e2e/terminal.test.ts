// A program on a terminal: its terminal settings (here, echo turned off)
// come back after a restart in a new terminal, whose default is echo on.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, fixture, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** Runs `command` on a fresh pseudo-terminal (util-linux `script`). */
const onTerminal = (command: string) => ["script", "-qfec", command, "/dev/null"];

/** The newest process named `name`. Never 0: process.kill(0) would signal this test runner's own group. */
async function newestPid(name: string): Promise<number> {
  const pid = Number((await runToEnd(["pgrep", "-n", "-x", name], { cwd: dir })).stdout.trim());
  if (!(pid > 0)) throw new Error(`no process named ${name}`);
  return pid;
}

test("terminal settings are restored when the restart runs on a terminal too", async () => {
  const first = spawn(onTerminal(`${CKPT} ${fixture("tty-mode")}`), { cwd: dir });
  await first.waitFor((o) => o.includes("step 2"));
  const pid = await newestPid("tty-mode");
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

test("/dev/tty on fd 3 comes back as the restart's terminal, with the program's modes", async () => {
  // Fds 0-2 are not terminals here, so only fd 3's own saved modes can
  // turn echo off again on the new terminal.
  const out = join(dir, "out.txt");
  const first = spawn(onTerminal(`${CKPT} ${fixture("tty-beyond")} devtty </dev/null >${out} 2>&1`), { cwd: dir });
  const text = async (want: string) => {
    const read = () => (existsSync(out) ? readFileSync(out, "utf8") : "");
    for (let i = 0; i < 2000 && !read().includes(want); i++) await Bun.sleep(10);
    return read();
  };
  expect(await text("step 2")).toContain("step 2: fd 3 tty=1 controlling=1 echo off");
  const pid = await newestPid("tty-beyond");
  process.kill(pid, "SIGUSR2");
  await first.exit();
  expect(readFileSync(out, "utf8")).toContain("taking a checkpoint into");
  const info = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  expect(info.files.find((f: { fd: number }) => f.fd === 3)).toMatchObject({ kind: "terminal", terminalModes: "icanon -echo isig opost" });
  const second = await runToEnd(onTerminal(`${CKPT} restart`), { cwd: dir });
  expect(second.code).toBe(0);
  const after = (await text("step 11")).split("taking a checkpoint into")[1]!;
  const steps = after.split("\n").filter((l) => l.startsWith("step"));
  expect(steps.length).toBeGreaterThan(2);
  expect(steps.every((l) => l.endsWith("fd 3 tty=1 controlling=1 echo off"))).toBe(true);
}, 60000);

test("a restart with no terminal at all is refused in one line naming the fd", async () => {
  const first = spawn(onTerminal(`${CKPT} ${fixture("tty-beyond")} devtty`), { cwd: dir });
  await first.waitFor((o) => o.includes("step 2"));
  const pid = await newestPid("tty-beyond");
  process.kill(pid, "SIGUSR2");
  await first.exit();
  const r = await runToEnd(["setsid", CKPT, "restart"], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/fd 3 was the program's terminal \(\/dev\/(tty|pts\/\d+)\) and this restart has no controlling terminal.*run ckpt restart in a terminal/);
}, 60000);

test("a terminal that is not the controlling one (a pty master) is refused by name; the program runs on", async () => {
  const first = spawn(onTerminal(`${CKPT} ${fixture("tty-beyond")} master`), { cwd: dir });
  await first.waitFor((o) => o.includes("step 2"));
  const pid = await newestPid("tty-beyond");
  process.kill(pid, "SIGUSR2");
  await first.exit();
  expect(first.stdout).toMatch(/checkpoint failed: fd 3 \(\/dev\/(pts\/)?ptmx: a terminal that is not the program's controlling terminal\) was opened by the program/);
  expect(first.stdout).toContain("step 11:");
}, 60000);
