// Descriptors from 4 up that the caller passed reach the program exactly as
// without ckpt (numbers, targets, flags, offsets), while the Bun runtime's
// own do not; and they survive a checkpoint and restart at their offsets.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
// Gaps, a read-write one, an appending one, one past Bun's 1023, one at a high number.
const FDS = ["4", "7", "9", "200", "1500", "4000"];
const redirections = 'exec 4<"$D/a" 7<"$D/b" 9<>"$D/c" 200<"$D/d" 1500<"$D/e" 4000>>"$D/f"; read -n 3 -u 4 _; read -n 5 -u 9 _';

function files(): void {
  for (const f of ["a", "b", "c", "d", "e"]) writeFileSync(join(dir, f), alphabet);
  writeFileSync(join(dir, "f"), "");
}

async function viaShell(prefix: string, n: string) {
  const script = `ulimit -n 8192; ${redirections}; exec ${prefix} "$P" ${FDS.join(" ")}`;
  return spawn(["/usr/bin/bash", "-c", script], { cwd: dir, env: { D: dir, P: fixture("inherited-fds"), N: n } });
}

test("every descriptor the caller passed reaches the program as without ckpt, none of Bun's", async () => {
  files();
  const direct = await viaShell("", "30");
  const underCkpt = await viaShell(`"${CKPT}"`, "30");
  const [a, b] = [await direct.exit(), await underCkpt.exit()];
  expect(b).toBe(a);
  const head = (out: string) => out.split("\n").filter((l) => !l.startsWith("tick")).join("\n");
  expect(head(underCkpt.stdout)).toBe(head(direct.stdout));
  expect(underCkpt.stdout).toBe(direct.stdout);
  expect(underCkpt.stdout).toStartWith(`open from 3 up: ${FDS.join(" ")}\n`); // no anon_inode of Bun's
  expect(underCkpt.stdout).toContain("fd 4000 -> " + join(dir, "f") + " cloexec=0 flags=0102001 offset=0"); // O_LARGEFILE|O_APPEND|O_WRONLY
  expect(underCkpt.stdout).toContain("fd 9 -> " + join(dir, "c") + " cloexec=0 flags=0100002 offset=5");
}, 30000);

test("process substitution: `ckpt cat <(echo hi)`", async () => {
  const r = await runToEnd(["/usr/bin/bash", "-c", `"${CKPT}" cat <(echo hi)`], { cwd: dir });
  expect(r).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
});

test("the passed descriptors go on reading where they were after checkpoint and restart", async () => {
  files();
  const run = await viaShell(`"${CKPT}"`, "30");
  await run.waitFor((o) => /^tick 5 /m.test(o));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const restarted = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(restarted.code).toBe(0);
  const ticks = (run.stdout + restarted.stdout).split("\n").filter((l) => l.startsWith("tick"));
  expect(ticks.length).toBe(30);
  ticks.forEach((line, i) => {
    // fd 4 began at 3, fd 9 at 5, the others at 0; fd 4000 is write-only.
    const at = (start: number) => alphabet[start + i];
    expect(line).toBe(`tick ${i} ${at(3)} ${at(0)} ${at(5)} ${at(0)} ${at(0)} !`);
  });
}, 30000);

const noMake = !Bun.which("make");
if (noMake) console.warn("inherited-fds.test.ts: make is not installed; the jobserver test is skipped");
test.skipIf(noMake)("`ckpt make` inside `make -j2` gets the jobserver descriptors (no 'jobserver unavailable')", async () => {
  await Bun.write(join(dir, "sub", "Makefile"), "all:\n\t@echo inner\n");
  await Bun.write(join(dir, "Makefile"), `all:\n\t+@${CKPT} make -s -C sub\n`);
  const r = await runToEnd(["make", "-j2", "-s"], { cwd: dir });
  expect(r).toEqual({ code: 0, stdout: "inner\n", stderr: "" });
});
