// The checkpoint side of process trees (docs/process-trees.md): a signal to
// the root saves every process it started, each into its own member image
// beside the root's, named by the root image's member table; with
// --continue the whole tree runs on, its output unbroken; in stop mode
// every member ends before the root exits 85. What cannot be saved is
// refused in one line naming the process, the tree running on, the
// previous image untouched and no member file left behind.
import { beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ckpt, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, muslFixture, ROOT, type Running, runToEnd, tempDir, until,
} from "./harness.ts";
import { CKPT_FD_EVENTFD } from "../../src/image/format.ts";
import { fdTable, headerField as header, memberFiles as filesIn, memberTable as members, processState, stillRuns } from "./tree-image.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const STUB = join(ROOT, "build", "ckpt-restore");
const FAMILY = fixture("tree-family");
const show = (run: Running) => () => `stdout ${JSON.stringify(run.stdout)} stderr ${JSON.stringify(run.stderr)}`;
const memberFiles = () => filesIn(dir);
/** The numbers a process printed under `tag` ("p", "c1", "w"), in order. */
const counts = (out: string, tag: string) => [...out.matchAll(new RegExp(`^${tag} (\\d+)$`, "gm"))].map((m) => Number(m[1]));
const unbroken = (xs: number[]) => xs.every((x, i) => x === i);

function start(args: string[], ckptArgs: string[] = ["--continue"]): Running {
  const run = ckpt([...ckptArgs, FAMILY, ...args], { cwd: dir });
  running.push(run);
  return run;
}

async function children(run: Running): Promise<[number, number]> {
  await run.waitFor((o) => /^children \d+ \d+$/m.test(o) && /^w 1$/m.test(o));
  const m = /^children (\d+) (\d+)$/m.exec(run.stdout)!;
  return [Number(m[1]), Number(m[2])];
}

let earlier: Buffer; // a complete image from before, which a refused checkpoint must leave alone
beforeAll(async () => {
  const { dir: d, cleanup } = tempDir();
  const run = ckpt(["--continue", FAMILY, "worker", "1000"], { cwd: d });
  await run.waitFor((o) => /^w 2$/m.test(o));
  const r = await runToEnd([join(ROOT, "dist", "ckpt"), "checkpoint", String(run.pid)], { cwd: d });
  expect(r.code).toBe(0);
  earlier = readFileSync(join(d, "myckpt.dat"));
  run.proc.kill("SIGTERM");
  await run.done;
  cleanup();
});

test("--continue: the parent and both children are saved, each image checks, and every output runs on unbroken", async () => {
  const run = start(["plain", "60"]);
  const [c1, c2] = await children(run);
  process.kill(run.pid, "SIGUSR2");
  await until(() => /^ckpt: checkpoint (written|failed)/m.test(run.stderr), show(run));
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; continuing\n$/m);
  const root = join(dir, "myckpt.dat");
  const table = members(root);
  expect(table.map((m) => [m.pid, m.ppid, m.kind])).toEqual([[c1, run.pid, 1], [c2, run.pid, 1]]);
  const treeId = header(readFileSync(root), "tree_id") as bigint;
  expect(header(readFileSync(root), "image_id")).toBe(treeId);
  expect(table.map((m) => m.file)).toEqual([c1, c2].map((p) => `myckpt.dat.${treeId.toString(16).padStart(16, "0")}.${p}`));
  expect(memberFiles()).toEqual(table.map((m) => m.file).sort());
  for (const m of table) {
    const path = join(dir, m.file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).size).toBe(m.size);
    const b = readFileSync(path);
    expect([header(b, "image_id"), header(b, "tree_id"), header(b, "pid"), header(b, "tree_root_pid")]).toEqual([
      m.imageId, treeId, m.pid, run.pid,
    ]);
    const check = await runToEnd([STUB, "--check", path], { cwd: dir });
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }
  // Descriptors between them: fds 0-2 are the root's, taken from the
  // launch; the pipe from c1 to the parent is kept (its write end in c1
  // alone), and its read end, which the exec'd child inherited, names the
  // parent's as its first holder.
  const [rootFds, c1Fds, c2Fds] = [root, ...table.map((m) => join(dir, m.file))].map(fdTable) as [
    ReturnType<typeof fdTable>, ReturnType<typeof fdTable>, ReturnType<typeof fdTable>,
  ];
  const INHERIT = 4, PIPE_READ = 2, PIPE_WRITE = 3;
  for (const fds of [c1Fds, c2Fds])
    expect(fds.filter((f) => f.fd <= 2)).toEqual([0, 1, 2].map((fd) => ({ fd, kind: INHERIT, sharePid: run.pid, shareFd: fd })));
  const readEnd = rootFds.find((f) => f.kind === PIPE_READ)!;
  expect(c1Fds.filter((f) => f.kind === PIPE_WRITE).map((f) => [f.sharePid, f.shareFd])).toEqual([[0, 0]]);
  expect(c2Fds.filter((f) => f.kind === PIPE_READ).map((f) => [f.sharePid, f.shareFd])).toEqual([[run.pid, readEnd.fd]]);
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toEndWith("done 0 0\n");
  for (const tag of ["p", "w"]) expect(counts(run.stdout, tag)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  expect(unbroken(counts(run.stdout, "c1"))).toBe(true); // read over the pipe the checkpoint kept
}, 60000);

test("stop mode: every member has ended when the root exits 85", async () => {
  const run = start(["plain", "1000"], []);
  const [c1, c2] = await children(run);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  for (const pid of [c1, c2]) expect(stillRuns(pid)).toBe(false); // gone, or a zombie for its new parent to reap
  expect(memberFiles().length).toBe(2);
  expect(members(join(dir, "myckpt.dat")).map((m) => m.pid)).toEqual([c1, c2]);
}, 60000);

/** A refused tree checkpoint: one line naming `pid`, the tree runs on, nothing written. */
async function refused(run: Running, pid: number, why: RegExp) {
  process.kill(run.pid, "SIGUSR2");
  await until(() => /^ckpt: checkpoint (written|failed)/m.test(run.stderr), show(run));
  const line = run.stderr.split("\n").find((l) => l.startsWith("ckpt: checkpoint failed: "))!;
  expect(line).toMatch(new RegExp(`^ckpt: checkpoint failed: .*process ${pid} \\(`));
  expect(line).toMatch(why);
  expect(line).toEndWith("; the program continues");
  expect(run.stderr.split("\n").filter((l) => l.startsWith("ckpt:")).length).toBe(1);
  const before = counts(run.stdout, "p").length;
  await run.waitFor(() => counts(run.stdout, "p").length > before + 3); // the tree runs on
  expect(readFileSync(join(dir, "myckpt.dat")).equals(earlier)).toBe(true);
  expect(memberFiles()).toEqual([]);
}

test("a stopped child is refused by pid and name", async () => {
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["plain", "1000"]);
  const [, c2] = await children(run);
  process.kill(c2, "SIGSTOP");
  await until(() => processState(c2) === "T", show(run));
  try {
    await refused(run, c2, /is stopped/);
  } finally {
    process.kill(c2, "SIGCONT");
  }
}, 60000);

// nginx started as root runs its workers as nobody: they could not reach
// the root's /proc files to answer, and the checkpoint waited 10 s to
// blame a blocked signal.
test.skipIf(process.getuid!() !== 0)("a child that became another user (setgid, setuid) is refused at once by pid and name", async () => {
  const program = [
    "import os, time",
    "child = os.fork()",
    "if child == 0:",
    "    os.setgid(65534); os.setuid(65534)",
    "    time.sleep(60); os._exit(0)",
    "print('child', child, flush=True)",
    "for i in range(600):",
    "    print('p', i, flush=True); time.sleep(0.05)",
  ].join("\n");
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = ckpt(["--continue", "/usr/bin/python3", "-c", program], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => /^p 2$/m.test(o));
  const child = Number(/^child (\d+)$/m.exec(run.stdout)![1]);
  await until(() => readFileSync(`/proc/${child}/status`, "utf8").includes("Uid:\t65534"), show(run));
  await refused(run, child, /runs under other user or group ids than the program ckpt launched/);
  process.kill(child, "SIGKILL");
}, 60000);

test("a child whose main thread ended while another counts on (pthread_exit in main) is refused by pid and name, never saved as exited", async () => {
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["mainexit", "1000"]);
  const [c1] = await children(run);
  await until(() => processState(c1) === "Z", show(run)); // its first thread: a zombie
  await refused(run, c1, /its first thread has ended while its other threads run on \(pthread_exit in main\)/);
  expect(counts(run.stdout, "c1").length).toBeGreaterThan(3); // its count goes on
}, 60000);

const staticChild = muslFixture("count", "static");
test.skipIf(!staticChild)("a static child (no libckpt) is refused by pid and name", async () => {
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["plain", "1000", staticChild!, "100000"]);
  await run.waitFor((o) => /^children \d+ \d+$/m.test(o) && /^2 /m.test(o));
  const c2 = Number(/^children \d+ (\d+)$/m.exec(run.stdout)![1]);
  await refused(run, c2, /runs without ckpt/);
}, 60000);

// Shared memory and socket pairs between members are restored now (tree-shared.test.ts
// restarts them); what stays refused of them is tested there too.
for (const mode of ["shared", "socketpair"]) {
  test(`${mode === "shared" ? "memory" : "a socket pair"} shared between parent and child is checkpointed with both`, async () => {
    const run = start([mode, "1000"]);
    const [c1] = await children(run);
    process.kill(run.pid, "SIGUSR2");
    await until(() => /^ckpt: checkpoint (written|failed)/m.test(run.stderr), show(run));
    expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; continuing\n$/m);
    expect(members(join(dir, "myckpt.dat")).map((m) => m.pid)).toContain(c1);
  }, 60000);
}

test("a child that exits before it stops is saved as it ended: a zombie member with its status, or none once reaped", async () => {
  // c1 holds the trigger blocked and exits the moment the root's request is
  // pending: it ends before it could stop, so the checkpoint is of a moment
  // after its exit, and is written.
  const run = start(["exiting", "1000"]);
  const [c1, c2] = await children(run);
  process.kill(run.pid, "SIGUSR2");
  await until(() => /^ckpt: checkpoint (written|failed)/m.test(run.stderr), show(run));
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; continuing\n$/m);
  const table = members(join(dir, "myckpt.dat"));
  expect(table.find((m) => m.pid === c2)?.kind).toBe(1);
  const ended = table.find((m) => m.pid === c1);
  if (ended) expect([ended.kind, ended.waitStatus, ended.file]).toEqual([2, 0, ""]); // a zombie, exit status 0, no image
  expect(memberFiles().length).toBe(table.filter((m) => m.kind === 1).length);
  const before = counts(run.stdout, "p").length;
  await run.waitFor(() => counts(run.stdout, "p").length > before + 3); // the tree runs on
}, 60000);

test("an eventfd shared between parent and child is saved once: the child's record names the parent's as its first holder", async () => {
  const run = start(["eventfd", "1000"]);
  const [c1] = await children(run);
  process.kill(run.pid, "SIGUSR2");
  await until(() => /^ckpt: checkpoint (written|failed)/m.test(run.stderr), show(run));
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; continuing\n$/m);
  const root = join(dir, "myckpt.dat");
  const parentFd = fdTable(root).find((f) => f.kind === CKPT_FD_EVENTFD)!;
  const child = members(root).find((m) => m.pid === c1)!;
  // the restart makes it from the parent's record, once (tree-sockets.test.ts restarts such a tree)
  expect(fdTable(join(dir, child.file)).filter((f) => f.kind === CKPT_FD_EVENTFD).map((f) => [f.sharePid, f.shareFd])).toEqual([
    [run.pid, parentFd.fd],
  ]);
  const before = counts(run.stdout, "p").length;
  await run.waitFor(() => counts(run.stdout, "p").length > before + 3); // the tree runs on
}, 60000);

test("a TCP connection between parent and child is refused naming the child", async () => {
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["tcp", "1000"]);
  const [c1] = await children(run);
  await refused(run, c1, /\(a TCP socket at 127\.0\.0\.1:\d+\) is connected to a socket of process \d+ \(tree-family\)/);
}, 60000);

test("a grandchild without ckpt left in the tree's process group when its parent exited is refused by pid", async () => {
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["daemon", "1000"]);
  await run.waitFor((o) => /^grandchild \d+$/m.test(o) && /^w 1$/m.test(o));
  const grandchild = Number(/^grandchild (\d+)$/m.exec(run.stdout)![1]);
  try {
    await refused(run, grandchild, /is in process group \d+ of the tree but not in the tree/);
  } finally {
    process.kill(grandchild, "SIGKILL");
  }
}, 60000);

test("a member whose own capture fails (a netlink socket) fails the tree, and no member image is left", async () => {
  // c1 writes its image while the exec'd child refuses its socket: the
  // root waits for writers to finish, then removes this checkpoint's files.
  writeFileSync(join(dir, "myckpt.dat"), earlier);
  const run = start(["netlink", "1000"]);
  const [, c2] = await children(run);
  await refused(run, c2, new RegExp(`^ckpt: checkpoint failed: process ${c2} \\(exe\\): fd \\d+ \\(socket:\\[\\d+\\]: a netlink socket`));
}, 60000);

test("a root killed mid-checkpoint: the members it had stopped run on", async () => {
  // c1 never answers (the trigger held blocked), so the root waits; the
  // exec'd child is stopped in its handler, every signal blocked but the
  // thread stop signal, when the root dies.
  const run = start(["deaf", "1000"]);
  const [c1, c2] = await children(run);
  try {
    process.kill(run.pid, "SIGUSR2");
    // In the handler every signal is blocked: SIGINT and SIGTERM too, which the worker never blocks.
    const blocked = () => BigInt("0x" + /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${c2}/status`, "latin1"))![1]);
    const inHandler = () => (blocked() & 0x4002n) === 0x4002n;
    await until(inHandler, show(run));
    const before = counts(run.stdout, "w").length;
    process.kill(run.pid, "SIGKILL");
    await run.waitFor(() => counts(run.stdout, "w").length > before + 3); // c2 runs on
    expect(unbroken(counts(run.stdout, "w"))).toBe(true);
  } finally {
    for (const pid of [c1, c2]) process.kill(pid, "SIGKILL");
  }
}, 60000);
