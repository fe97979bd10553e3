// Descriptor rules (ARCHITECTURE.md, "Capture descriptors"): files and the
// program's own pipes come back with their offsets and unread bytes, at
// their numbers; what cannot come back fails the checkpoint by name, or is
// dropped with a warning when inherited or when --drop-unsupported-fds says
// so; children never see ckpt's own environment (they load libckpt as
// members of the program's tree, which takes it out of theirs).
import { expect, test } from "bun:test";
import { closeSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, Running, runToEnd, spawn, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const textLines = (out: string) => out.split("\n").slice(0, -1);
const stderrLines = (err: string) => textLines(err);

/** `cmd` with stdout and stderr collected and one more descriptor, 3, a socket to this test. */
function spawnWithFd3(cmd: string[], cwd: string): Running {
  const proc = Bun.spawn(cmd, { cwd, env: process.env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
  const ours = proc.stdio[3];
  if (typeof ours === "number") void proc.exited.then(() => closeSync(ours));
  return new Running(proc as never);
}

/** Polls until `ready`; throws with `what()` after `ms`. */
const fileText = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

test("the program's own pipe comes back with its unread bytes, and a file on fd 40 keeps writing at its offset", async () => {
  const reference = await runToEnd([fixture("pipe-self"), join(dir, "ref.log")], { cwd: dir });
  expect(reference.stdout).toContain("pipe ok, log ok, 10 lines");
  const first = await checkpointRun([fixture("pipe-self"), join(dir, "run.log")], { cwd: dir, afterLines: 4 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  // The image holds both ends of the pipe and fd 40.
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/^\s+3\s+pipe read\s.*\(\d+ B unread\)$/m);
  expect(info.stdout).toMatch(/^\s+4\s+pipe write\s/m);
  // In /tmp, and small: its bytes are kept (c/kinds/fd_file.c).
  expect(info.stdout).toMatch(new RegExp(`^\\s+40\\s+file\\s.*${join(dir, "run.log")} \\(\\d+ B kept: made again if gone\\)$`, "m"));
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(first.stdout + rest.stdout).toBe(reference.stdout);
  expect(fileText(join(dir, "run.log"))).toBe(fileText(join(dir, "ref.log")));
}, 60000);

test("a socket the program opened itself: the checkpoint fails naming the fd and --drop-unsupported-fds; the program runs on", async () => {
  const reference = await runToEnd([fixture("socket-self")], { cwd: dir });
  const run = ckpt([fixture("socket-self")], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  await until(() => run.stderr.includes("\n"), () => `no report; stderr ${JSON.stringify(run.stderr)}`);
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(/^ckpt: checkpoint failed: fd 3 \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\) [^\n]*--drop-unsupported-fds[^\n]*\n$/);
  expect(run.stdout).toBe(reference.stdout);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("with --drop-unsupported-fds the checkpoint succeeds, with a warning, and after restart the socket is closed (EBADF)", async () => {
  const reference = await runToEnd([fixture("socket-self")], { cwd: dir });
  const first = await checkpointRun([fixture("socket-self")], { cwd: dir, afterLines: 3, ckptArgs: ["--drop-unsupported-fds"] });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const reports = stderrLines(first.stderr);
  expect(reports).toHaveLength(3);
  expect(reports[0]).toMatch(/^ckpt: warning: fd 3 \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\) .*closed after a restart/);
  expect(reports[1]).toMatch(/^ckpt: warning: fd 4 \(socket:\[\d+\]: a netlink socket .*\) .*closed after a restart/);
  expect(reports[2]).toMatch(/^ckpt: checkpoint written to /);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  // Lines before the checkpoint as in the reference; every later send finds the fd closed.
  const before = lines(first.stdout);
  const expected = textLines(reference.stdout).map((l, i) => (i < before ? l : l.replace(/ ok$/, " Bad file descriptor")));
  expect(textLines(first.stdout + rest.stdout)).toEqual(expected);
  expect(rest.stdout).toContain("socket Bad file descriptor");
}, 60000);

test("an inherited socket on fd 3 is dropped with a one-line warning; the restarted program finds fd 3 closed", async () => {
  const program = [fixture("fd-probe"), "3"];
  const run = spawnWithFd3([CKPT, ...program], dir);
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const reports = stderrLines(run.stderr);
  expect(reports).toHaveLength(2);
  // Bun's pipe for fd 3 is a Unix socket whose peer is the test, outside the process.
  expect(reports[0]).toMatch(
    /^ckpt: warning: fd 3 \(socket:\[\d+\]: a Unix socket connected to an unnamed socket, a socket outside the process\) cannot be restored; it will be closed after a restart$/,
  );
  expect(reports[1]).toMatch(/^ckpt: checkpoint written to /);
  expect(run.stdout).toMatch(/^step 0 fd 3 open\n/);
  expect(run.stdout).not.toContain("closed");
  // The restart has an fd 3 of its own: the program must not get it.
  const rest = spawnWithFd3([CKPT, "restart"], dir);
  expect(await rest.exit()).toBe(0);
  expect(rest.stderr).toBe("");
  const after = textLines(rest.stdout);
  expect(after.length).toBe(10 - lines(run.stdout));
  for (const l of after) expect(l).toMatch(/^step \d fd 3 closed$/);
}, 60000);

test("an inherited pipe on fd 3 (its other end elsewhere) is dropped with a one-line warning", async () => {
  // dash makes a here-document a pipe, written by the shell.
  const launch = 'exec 3<<EOF\nsome input\nEOF\nexec "$0" "$@"';
  const run = spawn(["/bin/sh", "-c", launch, CKPT, fixture("fd-probe"), "3"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  expect(run.stdout).toMatch(/^step 0 fd 3 open\n/);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const reports = stderrLines(run.stderr);
  expect(reports).toHaveLength(2);
  expect(reports[0]).toMatch(/^ckpt: warning: fd 3 \(a pipe to another process\) cannot be restored; it will be closed after a restart$/);
  expect(reports[1]).toMatch(/^ckpt: checkpoint written to /);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toMatch(/fd 3 closed\n$/);
  expect(rest.stdout).not.toContain("open");
}, 60000);

/** A preloadable library that exists here, standing for the user's own LD_PRELOAD. */
function userLibrary(): string {
  for (const lib of ["/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"])
    if (existsSync(lib)) return lib;
  throw new Error("no libm.so.6 to preload");
}

/**
 * `ckpt /bin/sh -c ...`: the shell (the program, with libckpt) reports
 * whether libckpt is mapped in itself, then a child prints its environment
 * and whether libckpt is mapped in the child.
 */
async function childView(env: Record<string, string | undefined>) {
  const script = 'echo "self $(grep -c libckpt /proc/$$/maps)"; env; echo "child $(grep -c libckpt /proc/self/maps)"';
  const r = await runToEnd([CKPT, "/bin/sh", "-c", script], { cwd: dir, env });
  expect(r.code).toBe(0);
  const out = textLines(r.stdout);
  return {
    self: Number(out[0]!.split(" ")[1]),
    child: Number(out.at(-1)!.split(" ")[1]),
    env: out.slice(1, -1),
  };
}

test("children of the program run with libckpt (members of its tree) yet without CKPT_* variables; the user's LD_PRELOAD passes through", async () => {
  const lib = userLibrary();
  const view = await childView({ LD_PRELOAD: lib, CKPT_IMAGE: join(dir, "from-env.dat"), CKPT_CONTINUE: "1" });
  expect(view.self).toBeGreaterThan(0); // the shell itself does run with libckpt
  expect(view.child).toBeGreaterThan(0); // and so does the child it runs
  expect(view.env.filter((l) => l.startsWith("CKPT_"))).toEqual([]);
  expect(view.env.filter((l) => l.startsWith("LD_PRELOAD="))).toEqual([`LD_PRELOAD=${lib}`]);
}, 30000);

test("children of the program see no LD_PRELOAD at all when the user had none", async () => {
  const view = await childView({ LD_PRELOAD: undefined });
  expect(view.self).toBeGreaterThan(0);
  expect(view.child).toBeGreaterThan(0);
  expect(view.env.filter((l) => l.startsWith("LD_PRELOAD=") || l.startsWith("CKPT_"))).toEqual([]);
}, 30000);

/** Launches `program` with stdout and stderr both on `log` (`> log 2>&1`). */
function ckptToLog(program: string[], log: string): Running {
  return spawn(["/bin/sh", "-c", 'log=$1; shift; exec "$@" > "$log" 2>&1', "sh", log, CKPT, ...program], { cwd: dir });
}

/** `program > log 2>&1` checkpointed once the log has `after` lines, then restarted; the log's lines. */
async function logAcrossRestart(program: string[], after: number): Promise<string[]> {
  const log = join(dir, "run.log");
  const run = ckptToLog(program, log);
  await until(() => lines(fileText(log)) >= after, () => `log: ${JSON.stringify(fileText(log))}`);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  // With stderr on a file, ckpt reports before capturing (so the line lies
  // behind the saved offset) and says nothing after it.
  expect(fileText(log)).toContain("ckpt: taking a checkpoint into");
  expect(fileText(log)).not.toContain("checkpoint written");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stdout: rest.stdout, stderr: rest.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
  return textLines(fileText(log));
}

test("stdout and stderr sharing one log file (> log 2>&1) still share it after restart: no line is lost", async () => {
  const reference = await runToEnd(["/bin/sh", "-c", 'exec "$0" > ref.log 2>&1', fixture("two-streams")], { cwd: dir });
  expect(reference.code).toBe(0);
  // Checkpoint early: what follows is far longer than ckpt's own report, so
  // only lost lines (not a leftover fragment of the report) can fail this.
  const got = await logAcrossRestart([fixture("two-streams")], 4);
  expect(got.filter((l) => !l.startsWith("ckpt: "))).toEqual(textLines(fileText(join(dir, "ref.log"))));
}, 60000);

test("a log file (> log 2>&1) holds no fragment of ckpt's report after the restarted program writes less than it", async () => {
  const program = [fixture("clock-loop")];
  const reference = await runToEnd(program, { cwd: dir });
  // Checkpoint near the end (10 lines, 200 ms apart): two short lines follow the report.
  const got = await logAcrossRestart(program, 8);
  expect(got.filter((l) => !l.startsWith("ckpt: "))).toEqual(textLines(reference.stdout));
}, 60000);

/**
 * The "fds …" lines own-traces printed, pipes and sockets told apart by kind
 * only (a restart makes new ones), without the userfaultfd and pagemap
 * dirty tracking keeps open high up while the program runs on
 * (tracking_fds.c; never in an image).
 */
const fdLists = (out: string) =>
  textLines(out)
    .filter((l) => l.startsWith("fds"))
    .map((l) => l.replace(/ \d+=anon_inode:\[userfaultfd\]/, "").replace(/ \d+=\/proc\/\d+\/pagemap/, "").replace(/(pipe|socket):\[\d+\]/g, "$1"));

test("checkpoints leave none of ckpt's descriptors in the program, running on or restarted (the smaps read beside the capture)", async () => {
  const run = ckpt(["--continue", fixture("own-traces")], { cwd: dir });
  try {
    await run.waitFor((o) => o.includes("tick 1"));
    // Full, full with tracking on, then incremental: each capture reads smaps on a thread of its own.
    for (let n = 1; n <= 3; n++) {
      process.kill(run.pid, "SIGUSR2");
      await until(() => run.stderr.split("checkpoint written").length - 1 >= n, () => run.stderr);
    }
    const ticks = (o: string) => o.split("tick ").length - 1;
    const seen = ticks(run.stdout);
    await until(() => ticks(run.stdout) >= seen + 2, () => run.stdout);
  } finally {
    run.proc.kill("SIGKILL");
    await run.done;
  }
  // Every list the program printed, before and between the checkpoints.
  const lists = fdLists(run.stdout);
  const before = lists.slice(0, 1);
  expect(new Set(lists)).toEqual(new Set(before));
  const rest = spawn([CKPT, "restart"], { cwd: dir });
  try {
    await until(() => fdLists(rest.stdout).length >= 1 && rest.stdout.includes("tick"), () => rest.stdout + rest.stderr);
  } finally {
    rest.proc.kill("SIGKILL");
    await rest.done;
  }
  expect(fdLists(rest.stdout)).toEqual(before);
}, 60000);

test("while the program runs between incremental checkpoints, every open still gets the lowest free number (no descriptor of ckpt's opened low)", async () => {
  const run = ckpt(["--continue", fixture("fd-numbers")], { cwd: dir });
  try {
    await run.waitFor((o) => o.includes("tick 1"));
    // Full, full with tracking on, then incremental ones: before each of
    // those the early helper scans the heap while the program runs.
    for (let n = 1; n <= 6; n++) {
      const ticks = run.stdout.split("tick ").length;
      await until(() => run.stdout.split("tick ").length > ticks + 1, () => run.stdout);
      process.kill(run.pid, "SIGUSR2");
      await until(() => run.stderr.split("checkpoint written").length - 1 >= n, () => run.stderr);
    }
    expect(run.stderr).toContain("incremental");
    const ticks = run.stdout.split("tick ").length;
    await until(() => run.stdout.split("tick ").length > ticks + 1, () => run.stdout);
  } finally {
    run.proc.kill("SIGKILL");
    await run.done;
  }
  expect(run.stdout).not.toContain("instead of");
}, 60000);

// They look like regular files opened by a path (/ckpt-test-N) or deleted
// (/secretmem), but reopening that path would open something else or
// nothing: refused by what they are, the object left working.
for (const [what, said] of [
  ["mq", /^ckpt: checkpoint failed: fd 3 \(\/ckpt-test-\d+: a POSIX message queue \(mq_open\), which ckpt does not restore\) was opened by the program [^\n]*; the program continues\n$/],
  ["secret", /^ckpt: checkpoint failed: fd 3 \(\/secretmem \(deleted\): a memfd_secret area, whose memory not even the kernel may read for ckpt\) was opened by the program [^\n]*; the program continues\n$/],
  ["dnotify", /^ckpt: checkpoint failed: fd 3 \(\/[^\n]*: a directory with a signal owner, which a dnotify watch \(fcntl F_NOTIFY\) sets; [^\n]*; the program continues\n$/],
  ["secret-mapped", /^ckpt: checkpoint failed: shared mapping 0x[0-9a-f]+-0x[0-9a-f]+ of \/secretmem \(deleted\) cannot be restored: it is a memfd_secret area, [^\n]*; the program continues\n$/],
] as const) {
  const named = { mq: "a POSIX message queue", dnotify: "a directory watched with dnotify (fcntl F_NOTIFY)", secret: "a memfd_secret fd", "secret-mapped": "a memfd_secret mapping whose fd is closed" }[what];
  test(`${named}: the checkpoint is refused naming it, and it still works after`, async () => {
    const run = ckpt([fixture("special-files"), what], { cwd: dir });
    await run.waitFor((o) => o.includes("step 2\n") || o.includes("unavailable"));
    if (run.stdout.includes("unavailable")) {
      console.log(`skipped: ${run.stdout.trim()} on this kernel`);
      return;
    }
    process.kill(run.pid, "SIGUSR2");
    await until(() => run.stderr.includes("checkpoint failed"), () => `no report; stderr ${JSON.stringify(run.stderr)}`);
    expect(await run.exit()).toBe(0);
    expect(run.stderr).toMatch(said);
    const works = { mq: "mq: hello (6 bytes, priority 1)", dnotify: "dnotify: told", secret: "secret: kept secret", "secret-mapped": "secret: kept secret" }[what];
    expect(run.stdout).toEndWith(`step 11\n${works}\n`);
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 60000);
}
