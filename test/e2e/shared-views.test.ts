// Shared memory whose sharing cannot be restored is refused at checkpoint,
// by address and name, with the program running on and its views still one
// memory; MAP_SHARED|MAP_ANONYMOUS memory, which nothing else can hold, is
// restored, and so are two views of a SysV segment (made again at its id:
// test/e2e/sysv-shm.test.ts).
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, spawn, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

function go(run: Running) {
  const stdin = run.proc.stdin as FileSink;
  stdin.write("go\n");
  stdin.flush();
}

async function signalWhenReady(mode: string) {
  const run = spawn([CKPT, fixture("shared-views"), mode], { cwd: dir, stdin: "pipe" });
  await run.waitFor((out) => out.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  return run;
}

for (const [mode, name] of [["memfd-twice", /\/memfd:jit \(deleted\)/]] as const) {
  test(`${mode}: refused at checkpoint by address and name; the program runs on with one memory`, async () => {
    const run = await signalWhenReady(mode);
    await until(() => run.stderr.includes("checkpoint failed"), () => run.stderr);
    go(run);
    expect(await run.exit()).toBe(0);
    expect(run.stderr).toMatch(/^ckpt: checkpoint failed: shared mapping 0x[0-9a-f]+-0x[0-9a-f]+ of /m);
    expect(run.stderr).toMatch(name);
    expect(run.stderr).toContain("cannot be restored: the sharing with other mappings of it would be lost; the program continues");
    expect(run.stdout).toContain(`${mode}: shared bytes\n${mode} after: one memory\n`);
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 60000);
}

for (const mode of ["anon", "sysv"]) {
  test(`${mode === "anon" ? "MAP_SHARED|MAP_ANONYMOUS memory" : "two views of a SysV segment"} is checkpointed and comes back as one memory`, async () => {
    const run = await signalWhenReady(mode);
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    const rest = spawn([CKPT, "restart"], { cwd: dir, stdin: "pipe" });
    go(rest);
    expect(await rest.exit()).toBe(0);
    expect(rest.stdout).toBe(`${mode}: shared bytes\n${mode} after: one memory\n`);
  }, 60000);
}

// A --continue image is written by a copy-on-write child while the program
// runs on; shared pages are never copied on write, so the image's copy of
// them would be of a later moment than the rest (mem_shared_object_mapped).
test("--continue with MAP_SHARED|MAP_ANONYMOUS memory: the image holds its bytes of the checkpoint's moment", async () => {
  const run = spawn([CKPT, "--continue", fixture("shared-torn")], { cwd: dir });
  await run.waitFor((out) => out.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  await until(() => run.stderr.includes("checkpoint written"), () => run.stderr);
  run.proc.kill("SIGTERM");
  await run.exit();
  const rest = spawn([CKPT, "restart"], { cwd: dir });
  expect(await rest.exit()).toBe(0);
  expect(rest.stdout).toBe("one moment\n");
}, 60000);
