// system(), popen() and pclose() in a tree: the libc's own run the shell
// through a posix_spawn inside the libc, where ckpt's is not seen, so the
// shell and its command ran without ckpt and a checkpoint was refused while
// they ran. libckpt's own (c/lib/shell_commands.c) give the shell ckpt: a
// checkpoint taken while the command runs holds it, and the restarted
// program gets the command's status and output as if never stopped.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ckpt, CKPT, descendants, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, muslFixture, need, type Running, runToEnd, tempDir, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const ROUNDS = "4";
let straight = "";
beforeAll(async () => {
  const { dir: d, cleanup } = tempDir();
  straight = (await runToEnd([fixture("shell-commands"), ROUNDS], { cwd: d })).stdout;
  cleanup();
});

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
};

/** Whether a shell below `pid` runs a command containing `text` and has a child of its own (the command's sleep). */
const shellRunning = (pid: number, text: string) =>
  descendants(pid).some((p) => cmdline(p).startsWith("sh -c ") && cmdline(p).includes(text) && descendants(p).length > 0);

/** Checkpoints `run` (kill -USR2, or ckpt checkpoint PID) once round 2 is out and a shell running `phase` is below it; then restarts it to the end. */
async function acrossRestart(run: Running, phase: string, how: "kill" | "command"): Promise<{ before: string; after: string; info: string }> {
  running.push(run);
  await run.waitFor((o) => o.includes("round 2:"));
  await until(() => shellRunning(run.pid, phase), () => run.stdout + run.stderr);
  if (how === "kill") process.kill(run.pid, "SIGUSR2");
  else expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir })).stderr).toBe("");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).not.toMatch(/warning|fail|refuse|cannot/);
  const info = (await runToEnd([CKPT, "info", "myckpt.dat"], { cwd: dir })).stdout;
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  return { before: run.stdout, after: rest.stdout, info };
}

/** The processes `ckpt info` lists under a tree image, by program name. */
const programs = (info: string) => [...info.matchAll(/^\s+\d+\s+\d+\s+\d+\s+\d+\s+(?:root|live)\s+.*?\((\S+)\)/gm)].map((m) => m[1]);

describe("checkpointed while the command runs, the restart carries on with its status and output", () => {
  const phases: [string, string][] = [["system()", "kill -INT"], ["popen(r)", "echo read"], ["popen(w)", "cat > written"]];
  for (const [name, phase] of phases) {
    test(`${name}: the shell and its sleep are in the image; every round's status, line and file as in a run without ckpt`, async () => {
      const { before, after, info } = await acrossRestart(ckpt([fixture("shell-commands"), ROUNDS], { cwd: dir }), phase, "kill");
      expect(programs(info)).toEqual(["shell-commands", "sh", "sleep"]);
      expect(before + after).toBe(straight);
      expect(after).toContain(", fclose 768,"); // glibc's fclose of a popen stream waits: exit 3
    }, 30000);
  }
});

const muslProgram = muslFixture("shell-commands");
test.skipIf(!muslProgram)("a musl program's system() and popen() too, as musl's behave, checkpointed by ckpt checkpoint PID", async () => {
  const { dir: d, cleanup } = tempDir();
  const muslStraight = (await runToEnd([muslProgram!, ROUNDS], { cwd: d })).stdout;
  cleanup();
  expect(muslStraight).toContain("mode rw accepted, fclose 0,"); // musl reads the mode's first letter; its fclose does not wait
  const { before, after } = await acrossRestart(ckpt([muslProgram!, ROUNDS], { cwd: dir }), "kill -INT", "command");
  expect(before + after).toBe(muslStraight);
}, 30000);

// Real programs whose commands go through the libc's system().
const awkScript = 'BEGIN { for (i = 1; i <= 4; i++) { r = system("sleep 0.3; echo run " i "; exit " i); printf "round %d: %d\\n", i, r; fflush() } }';
const pythonScript = 'import os\nfor i in range(1, 5):\n    r = os.system(f"sleep 0.3; echo run {i}; exit {i}")\n    print(f"round {i}: {r >> 8}", flush=True)\n';

const realPrograms: [string, () => string[]][] = [
  ["mawk's system()", () => [need("mawk", "mawk"), awkScript]],
  ["Python's os.system", () => [need("python3", "python3"), "-c", pythonScript]],
];

for (const [name, command] of realPrograms) {
  test(`${name}, checkpointed during a command: the restart prints the command's output and its status, then the rounds left`, async () => {
    const { dir: d, cleanup } = tempDir();
    const reference = (await runToEnd(command(), { cwd: d })).stdout;
    cleanup();
    const { before, after } = await acrossRestart(ckpt(command(), { cwd: dir }), "sleep 0.3", "kill");
    expect(before + after).toBe(reference);
    expect(after).toStartWith("run 3\nround 3: 3\n");
  }, 30000);
}
