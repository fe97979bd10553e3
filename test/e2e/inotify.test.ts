// inotify (c/kinds/fd_inotify.c): test/fixtures/inotify-watches.c holds two
// instances with watches on a file and a directory, wds with a gap, is
// checkpointed, shown by `ckpt info`, restarted, and checks from inside
// that the wds, masks and flags are the same and events arrive for the
// right wds. A watch whose path no longer leads to its file, or that
// libckpt never saw made, refuses the checkpoint by fd and wd, the program
// running on; a watched path removed after the checkpoint refuses the
// restart before teardown. And pidfds, which nothing can bring back, are
// refused naming the process they point at.
import { expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const checks = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));

test("inotify watches come back under the same wds, masks and flags, and report the right wds; queued events are dropped with a warning", async () => {
  const first = await checkpointRun([fixture("inotify-watches"), "queued"], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stdout).toStartWith("wds 1 2 3 1\n");
  expect(first.stderr).toMatch(
    /^ckpt: warning: fd 3 \(inotify\): 16 bytes of events not yet read are not in the image; a restart will not deliver them\nckpt: checkpoint written to .*\n$/,
  );

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.code).toBe(0);
  // wd 3 was made as "./watched-file", then given IN_ATTRIB by "watched-file": the latest name is kept
  expect(info.stdout).toContain(
    `inotify    O_RDONLY|O_NONBLOCK|cloexec       -  2 watches: wd 1 ${dir}/watched-dir (create|delete|onlydir), wd 3 ${dir}/watched-file (modify|attrib)\n`,
  );
  expect(info.stdout).toMatch(new RegExp(`^ +4 +inotify +O_RDONLY +- +1 watch: wd 1 ${dir}/oneshot-file \\(modify\\|oneshot\\)$`, "m"));
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  const inotify = json.files.find((f: { fd: number }) => f.fd === 3).inotify;
  expect(inotify.lastWd).toBe(3);
  expect(inotify.watches.map((w: { wd: number; mask: string[]; flags: string[] }) => [w.wd, w.mask, w.flags])).toEqual([
    [1, ["create", "delete"], ["onlydir"]],
    [3, ["modify", "attrib"], []],
  ]);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  const all = checks(first.stdout + rest.stdout);
  expect(all.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(all).toHaveLength(13);
}, 60000);

test("1100 watches made and removed by the kernel (files deleted): libckpt's table makes room for the next, which comes back, and the next wd after restart follows it", async () => {
  const first = await checkpointRun([fixture("inotify-watches"), "churn"], { cwd: dir, afterLines: 3 });
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: EXIT_CHECKPOINTED, stderr: expect.stringMatching(/^ckpt: checkpoint written to /) });
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  expect(json.files.find((f: { fd: number }) => f.fd === 4).inotify).toMatchObject({ lastWd: 1102, watches: [{ wd: 1 }, { wd: 1102 }] });
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  const all = checks(first.stdout + rest.stdout);
  expect(all.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(all).toHaveLength(15);
}, 60000);

for (const [mode, why] of [
  ["renamed", "its watch wd 3 \\(\\S+/watched-file\\): the path no longer leads to the watched file \\(renamed, removed or replaced\\)"],
  ["raw", "its watch wd 2 was made without libckpt seeing its path \\(before ckpt loaded, by a raw syscall, or beyond the 1024 live watches it records\\)"],
]) {
  test(`a watch ${mode === "raw" ? "made by a raw syscall" : "whose file was renamed"}: the checkpoint is refused by fd and wd, the program runs on`, async () => {
    const run = ckpt([fixture("inotify-watches"), mode!], { cwd: dir });
    await run.waitFor((o) => o.includes("ready"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
    expect(run.stdout).toEndWith("ready\nstill running\n");
    const fd = mode === "raw" ? 4 : 3;
    expect(run.stderr).toMatch(new RegExp(`^ckpt: checkpoint failed: fd ${fd} \\(anon_inode:inotify: ${why}\\) .*; the program continues\\n$`));
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 60000);
}

test("a watched path removed after the checkpoint: the restart refuses before teardown in one line, the image stays, and restarts once it is back", async () => {
  const first = await checkpointRun([fixture("inotify-watches")], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  rmSync(join(dir, "watched-file"));
  const image = join(dir, "myckpt.dat");
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused).toEqual({
    code: 1,
    stdout: "",
    stderr: `ckpt: cannot restart ${image}: fd 3 (inotify) watch wd 3 (${dir}/watched-file): the watched path no longer exists: No such file or directory\n`,
  });
  expect(existsSync(image)).toBe(true);
  writeFileSync(join(dir, "watched-file"), "");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  const all = checks(first.stdout + rest.stdout);
  expect(all.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(all).toHaveLength(13);
}, 60000);

for (const [mode, why] of [
  ["self", "a pidfd on the program itself, and a restart makes a new process that no old pidfd names"],
  ["parent", "a pidfd on process \\d+, which is not checkpointed with the program"],
]) {
  test(`a pidfd on ${mode === "self" ? "the program itself" : "another process"}: the checkpoint is refused naming it, the program runs on`, async () => {
    const run = ckpt([fixture("pidfd"), mode!], { cwd: dir });
    await run.waitFor((o) => o.includes("ready"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
    expect(run.stdout).toBe("ready\nstill running\n");
    expect(run.stderr).toMatch(
      new RegExp(`^ckpt: checkpoint failed: fd 3 \\(anon_inode:\\[pidfd\\]: ${why}\\) was opened by the program and cannot be restored; --drop-unsupported-fds closes such fds at restart instead; the program continues\\n$`),
    );
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 60000);
}
