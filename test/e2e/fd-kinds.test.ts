// Descriptor kinds beyond plain files and pipes (ARCHITECTURE.md, "Capture
// descriptors"): each test sets the state in a demo, checkpoints, restarts,
// and lets the program check the state from inside; or checks that what
// cannot come back exactly is refused by name while the program runs on.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_FILE_KEPT, FD, HEADER, LOCK } from "../../src/image/format.ts";
import { reseal } from "../fuzz/mutate.ts";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const textLines = (out: string) => out.split("\n").slice(0, -1);

test("/proc and /sys files are reopened by path: the program's own /proc entries describe the restored process", async () => {
  const first = await checkpointRun([fixture("proc-files")], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  const all = textLines(first.stdout + rest.stdout);
  expect(all).toHaveLength(11);
  for (const [i, l] of all.slice(0, 10).entries()) expect(l).toMatch(new RegExp(`^step ${i} pid \\d+ ok$`));
  expect(all[10]).toBe("meminfo offset kept");
  // The pid each step saw in /proc/self/stat was getpid(): the same one before and after
  // (a restart into a pid namespace, with its own /proc).
  const pids = new Set(all.slice(0, 10).map((l) => l.split(" ")[3]));
  expect(pids.size).toBe(1);
  // What the image holds: the program's own entries by /proc/self, never by the old pid.
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/^\s+3\s+proc\s.*\/proc\/self\/stat$/m);
  expect(info.stdout).toMatch(/^\s+4\s+proc\s.*\/proc\/self\/status$/m);
  expect(info.stdout).toMatch(/^\s+5\s+proc\s.*\/proc\/thread-self\/comm$/m);
  expect(info.stdout).toMatch(/^\s+7\s+proc\s.*\/sys\/devices\/system\/cpu\/online$/m);
}, 60000);

test("another process's /proc entry: the checkpoint is refused naming the fd and the process; the program runs on", async () => {
  const run = ckpt([fixture("proc-files"), "1"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(
    /^ckpt: checkpoint failed: fd 9 \(\/proc\/1\/stat: a file of another process, 1, which a restart cannot bring back\) [^\n]*--drop-unsupported-fds[^\n]*\n$/,
  );
  expect(textLines(run.stdout)).toHaveLength(11);
  expect(run.stdout).toEndWith("meminfo offset kept\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("status flags come back on pipe ends (O_NONBLOCK per end, packet mode) and on stdin the program made non-blocking", async () => {
  const first = await checkpointRun([fixture("pipe-flags")], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  const all = textLines(first.stdout + rest.stdout);
  expect(all).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} flags ok`));
  expect(lines(rest.stdout)).toBeGreaterThan(0);
}, 60000);

test("a packet-mode pipe holding unread packets: the checkpoint is refused naming the fd; the program runs on with its packets", async () => {
  const run = ckpt([fixture("pipe-flags"), "packets"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    "ckpt: checkpoint failed: fd 7 (a packet-mode pipe, O_DIRECT) holds 7 unread bytes whose packet boundaries cannot be kept; checkpoint when it is empty; the program continues\n",
  );
  expect(run.stdout).toEndWith("step 9 flags ok\npackets kept (3, 4)\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("signal-driven I/O (O_ASYNC) with no owner on a pipe end comes back, checked from inside", async () => {
  const run = ckpt([fixture("pipe-flags"), "async"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info", "myckpt.dat"], { cwd: dir });
  expect(info.stdout).toMatch(/^ +5 +pipe read +O_RDONLY\|O_ASYNC\(SIGIO to nobody\) /m);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout).toEndWith("step 9 flags ok\n");
  expect(run.stdout + rest.stdout).not.toContain("FAIL");
}, 60000);

test("signal-driven I/O on stdin: the checkpoint is refused, never dropping stdin; the program runs on", async () => {
  const run = ckpt([fixture("pipe-flags"), "async0"], { cwd: dir, stdin: "pipe" });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(
    /^ckpt: checkpoint failed: fd 0 \((?:pipe|socket):\[\d+\]\) uses signal-driven I\/O \(O_ASYNC\) on the terminal or pipe the program was given; the program continues\n$/,
  );
  expect(run.stdout).toEndWith("step 9 flags ok\n");
}, 60000);

test("flock, POSIX and OFD locks and a lease are held again after restart, as another process meets them", async () => {
  const first = await checkpointRun([fixture("file-locks"), dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(lines(rest.stdout)).toBeGreaterThan(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} locks held`));
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toContain("locks (4, taken again at restart):");
  expect(info.stdout).toMatch(/^\s+4\s+posix\s+write\s+10-19$/m);
}, 60000);

test("a lock another process holds at restart refuses the restart by fd and path, before anything is torn down", async () => {
  const first = await checkpointRun([fixture("file-locks"), dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const locked = join(dir, "locked");
  const refused = await runToEnd(["flock", "-o", "-x", locked, CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: fd 3 (${locked}): cannot take its flock write lock again: another process holds a conflicting one now; restart once it lets go\n`,
  );
  // Nothing was lost: once the other process lets go, the same image restarts.
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} locks held`));
}, 60000);

test("a file deleted while open and a sealed memfd come back with their contents, offsets, names, mode and seals", async () => {
  const first = await checkpointRun([fixture("unlinked-files"), dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(lines(rest.stdout)).toBeGreaterThan(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} files ok`));
  // Recreated unlinked: the directory holds no trace of it.
  expect(readdirSync(dir).filter((n) => n.startsWith("scratch"))).toEqual([]);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(new RegExp(`^\\s+3\\s+deleted\\s.*${join(dir, "scratch")} \\(deleted, \\d+ B stored\\)$`, "m"));
  expect(info.stdout).toMatch(/^\s+4\s+memfd\s.*memfd:ckpt-demo \(26 B stored\)$/m);
}, 60000);

for (const [variant, why] of [
  ["big", /fd 3 \(\S+\/scratch \(deleted\): its 65\.0 MiB are more than the 64\.0 MiB ckpt stores for such a file\)/],
  ["mapped", /fd 4 \(\/memfd:ckpt-demo \(deleted\): it is also mapped shared at 0x[0-9a-f]+-0x[0-9a-f]+, and the mapping could not share the restored file\)/],
  ["linked", /fd 3 \(\S+\/scratch \(deleted\): deleted here but still linked under another name\)/],
] as const) {
  test(`a deleted file or memfd that cannot come back exactly (${variant}): refused at checkpoint by fd; the program runs on`, async () => {
    const run = ckpt([fixture("unlinked-files"), dir, variant], { cwd: dir });
    await run.waitFor((o) => lines(o) >= 2);
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^ckpt: checkpoint failed: ${why.source} was opened by the program [^\\n]*\\n$`));
    expect(run.stdout).toEndWith("step 9 files ok\n");
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 60000);
}

test("a named FIFO whose both ends the program holds comes back at its path with its unread bytes and flags", async () => {
  const first = await checkpointRun([fixture("fifo-self"), dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(lines(rest.stdout)).toBeGreaterThan(1);
  const all = textLines(first.stdout + rest.stdout);
  expect(all).toEqual([...Array.from({ length: 10 }, (_, i) => `step ${i} read ${"abcdefghij"[i]}`), "fifo ok"]);
}, 60000);

test("a named FIFO whose other end another process holds: refused at checkpoint by fd and path; the program runs on", async () => {
  const run = ckpt([fixture("fifo-self"), dir, "half"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    `ckpt: checkpoint failed: fd 3 (${join(dir, "fifo")}: a FIFO whose other end another process holds) was opened by the program and cannot be restored; --drop-unsupported-fds closes such fds at restart instead; the program continues\n`,
  );
  expect(run.stdout).toEndWith("step 9 half\n");
}, 60000);

test("corrupt lock and stored-file records (checksums resealed): ckpt info and the restart each refuse in one line", async () => {
  const first = await checkpointRun([fixture("file-locks"), dir], { cwd: dir, afterLines: 2 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const good = new Uint8Array(readFileSync(join(dir, "myckpt.dat")));
  const view = new DataView(good.buffer);
  const tables = Number(view.getBigUint64(HEADER.fields.tables_offset.off, true));
  const lock0 = tables + Number(view.getBigUint64(HEADER.fields.locks_off.off, true));
  const fd3 = tables + Number(view.getBigUint64(HEADER.fields.fds_off.off, true)) + 3 * FD.size;
  const cases: [string, (v: DataView) => void, RegExp, string][] = [
    ["a lock of an unknown kind", (v) => v.setUint32(lock0 + LOCK.fields.kind.off, 7, true), /lock 0 on fd 3: unknown kind 7 \(corrupt image\)$/, "lock record is invalid (corrupt image)"],
    ["a flock with a byte range", (v) => v.setBigUint64(lock0 + LOCK.fields.len.off, 5n, true), /lock 0 on fd 3: a whole-file lock with a range \(corrupt image\)$/, "lock record is invalid (corrupt image)"],
    // Its bytes inside the data area, but the file not kept (CKPT_FILE_KEPT): a plain file stores none.
    ["stored contents on a file not kept", (v) => {
      v.setUint32(fd3 + FD.fields.kind_flags.off, 0, true);
      v.setBigUint64(fd3 + FD.fields.content_offset.off, v.getBigUint64(HEADER.fields.data_offset.off, true), true);
      v.setBigUint64(fd3 + FD.fields.content_len.off, 9n, true);
    }, /fd 3: stored contents on a file that is not kept \(corrupt image\)$/, "stored file contents lie outside the image (corrupt image)"],
    ["a kept file's bytes not the whole file", (v) => {
      v.setUint32(fd3 + FD.fields.kind_flags.off, CKPT_FILE_KEPT, true);
      v.setBigUint64(fd3 + FD.fields.content_offset.off, v.getBigUint64(HEADER.fields.data_offset.off, true), true);
      v.setBigUint64(fd3 + FD.fields.content_len.off, v.getBigUint64(fd3 + FD.fields.size.off, true) + 1n, true);
    }, /fd 3: a kept file's record does not hold the whole file, or is not its own open file \(corrupt image\)$/, "descriptor record is invalid (corrupt image)"],
  ];
  for (const [what, edit, infoWhy, stubWhy] of cases) {
    const bad = good.slice();
    edit(new DataView(bad.buffer));
    reseal(bad);
    const path = join(dir, "bad.dat");
    writeFileSync(path, bad, { mode: 0o600 });
    const info = await runToEnd([CKPT, "info", path], { cwd: dir });
    expect({ what, code: info.code, stdout: info.stdout }).toEqual({ what, code: 1, stdout: "" });
    expect(textLines(info.stderr)).toHaveLength(1);
    expect(info.stderr.trim()).toMatch(infoWhy);
    const rest = await runToEnd([CKPT, "restart", path], { cwd: dir });
    expect({ what, rest }).toEqual({ what, rest: { code: 1, stdout: "", stderr: `ckpt: cannot restart ${path}: ${stubWhy}\n` } });
  }
}, 60000);

// rsync holds its source directory O_PATH: its owner read by F_GETOWN was
// that call's EBADF, taken for a dnotify watch, and the checkpoint refused.
test("O_PATH fds to a directory, a file and a symbolic link itself come back O_PATH, each used from inside after restart", async () => {
  const first = await checkpointRun([fixture("path-fds"), "20"], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toStartWith("ckpt: checkpoint written to ");
  const info = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
  expect(info).toMatch(/^\s+3\s+file\s+O_RDONLY\|O_PATH\s.*\/d$/m);
  expect(info).toMatch(/^\s+5\s+file\s+O_RDONLY\|O_NOFOLLOW\|O_PATH\s.*\/link$/m);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  expect(textLines(rest.stdout).slice(-2)).toEqual(["O_PATH kept, inside inside-data", "file size 10, link itself -> f, fchdir into d"]);
}, 30000);
