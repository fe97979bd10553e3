// A deleted file and a memfd opened more than once (c/kinds/fd_unlinked.c,
// `reopens`): test/fixtures/deleted-twice.c opens an unlinked temporary
// file twice, O_RDWR and O_WRONLY|O_APPEND (GNU parallel's pattern), with a
// dup, and a memfd twice; in a tree a child opens the file again through
// /proc. After the restart every process checks from inside: one inode with
// no name, each open its own offset and flags, writes through one read
// through the other. `ckpt info` shows the bytes stored once. Unprivileged,
// a file whose mode no longer allows its opens is refused at checkpoint.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, type Running, runToEnd, spawn } from "./harness.ts";

/** An unprivileged user: root's opens pass any permission bits (the tests run as root). */
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));

test("a deleted file opened twice (O_RDWR, O_WRONLY|O_APPEND) with a dup, and a memfd opened twice: one file each, every open its own offset and flags", async () => {
  const first = await checkpointRun([fixture("deleted-twice"), dir], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stdout).toBe("ready\n");

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/^ +3 +deleted +O_RDWR +2 +\S+\/par\.tmp \(deleted, 10 B stored\)$/m);
  expect(info.stdout).toMatch(/^ +4 +deleted +O_WRONLY\|O_APPEND +10 +\S+\/par\.tmp \(deleted, another open of fd 3\)$/m);
  expect(info.stdout).toMatch(/^ +5 +deleted +O_RDWR +2 +\S+\/par\.tmp \(deleted, as fd 3\)$/m);
  expect(info.stdout).toMatch(/^ +7 +memfd +O_RDONLY +3 +memfd:twice \(another open of fd 6\)$/m);
  // Stored once each: the file's 10 bytes and the memfd's 11.
  expect(info.stdout).toMatch(/^file data +21 B \(deleted files, memfds, kept temporary files\)$/m);
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  expect(json.files.find((f: { fd: number }) => f.fd === 4)).toMatchObject({ storedBytes: null, opensAgain: { pid: null, fd: 3 } });

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checksOf(rest.stdout)).toHaveLength(11);
  expect(rest.stdout).toEndWith("all checks passed\n");
  expect(rest.code).toBe(0);
  expect(readdirSync(dir).filter((n) => n.startsWith("par.tmp"))).toEqual([]); // made unlinked again
}, 60000);

test("a tree: the child opens its parent's deleted file and memfd again through /proc (descriptions of its own): one file each after restart, each process's writes read by the other", async () => {
  const run = spawn(["setsid", CKPT, fixture("deleted-twice"), dir, "tree"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => lines(o) >= 2); // both processes wait for the restart
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const members = readdirSync(dir).filter((f) => f.startsWith("myckpt.dat."));
  expect(members).toHaveLength(1);
  const member = await runToEnd([CKPT, "info", members[0]!], { cwd: dir });
  // The child stores none of the file: its opens name the parent's fds.
  expect(member.stdout).toMatch(/^ +8 +deleted +O_WRONLY\|O_APPEND +12 +\S+\/par\.tmp \(deleted, another open of pid \d+ fd 3\)$/m);
  expect(member.stdout).toMatch(/^ +4 +deleted +O_WRONLY\|O_APPEND +10 +\S+\/par\.tmp \(deleted, stored by its first holder\) \(shared with pid \d+ fd 4\)$/m);
  expect(member.stdout).toMatch(/^ +9 +memfd +O_RDWR\|O_APPEND +0 +memfd:twice \(another open of pid \d+ fd 6\)$/m);
  // A dup of the parent's second open of the memfd: the root makes that open once, on the one memfd.
  expect(member.stdout).toMatch(/^ +7 +memfd +O_RDONLY +3 +memfd:twice \(stored by its first holder\) \(shared with pid \d+ fd 7\)$/m);
  expect(member.stdout).not.toContain("file data");

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checksOf(rest.stdout)).toHaveLength(19);
  expect(rest.code).toBe(0);
}, 60000);

test("unprivileged, a deleted file made read-only (fchmod 0400) while open for writing twice: refused at checkpoint naming the fd, the program running on", async () => {
  chmodSync(dir, 0o777);
  const run = spawn([...AS_NOBODY, CKPT, fixture("deleted-twice"), dir, "chmod"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe("ready\nstill running\n");
  expect(run.stderr).toMatch(/^ckpt: checkpoint failed: fd 3 \(\S+\/par\.tmp \(deleted\): its permission bits no longer let it be opened as the program opened it \(Permission denied\), which a restart does\) [^\n]*; the program continues\n$/);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);
