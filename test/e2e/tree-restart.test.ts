// A process tree restarted (docs/process-trees.md, "Restart"; c/stub/tree*.c):
// test/fixtures/tree-pipes.c, a parent and two children in a ring of
// pipes, is checkpointed mid-stream and restarted; the output goes on with
// no round lost or doubled, each process checks its pid and its parent's
// from inside, the parent reaps its children by the pids fork returned, and
// the restart's exit status is the root's. A tree checkpointed again after
// a restart restarts again. A member file missing, corrupt or swapped
// refuses the restart in one line before anything runs, the images kept;
// so does --new-pid.
import { expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, inLastingDir, ROOT, runToEnd, spawn, until } from "./harness.ts";
import { CKPT_ENV_NAMESPACE, CKPT_NAMESPACE_TEST_UNAVAILABLE } from "../../src/protocol/protocol.ts";
import { processesIn } from "./tree-runs.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const IMAGE = "myckpt.dat";
const ROUNDS = 30;
const ticksOf = (out: string) => out.split("\n").filter((l) => l.startsWith("tick "));
const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
const memberFiles = () => readdirSync(dir).filter((f) => f.startsWith(`${IMAGE}.`)).sort();
/** What the fixture's processes check from inside, each once (their order is the processes' own race). */
const EVERY_CHECK = [
  "PASS child 1 keeps its pid, parent and group",
  "PASS child 1 reaped by its pid, exit 11",
  "PASS child 2 keeps its pid, parent and group",
  "PASS child 2 reaped by its pid, exit 12",
  "PASS grandchild reaped by its pid, exit 14",
  "PASS the grandchild keeps its pid, parent and group",
  "PASS the parent keeps its pid, parent and group",
  "PASS the zombie keeps its name",
  "PASS the zombie reaped by its pid, killed by SIGTERM",
];
/** The root's output must read as one uninterrupted run: every round once, in order. */
const allRounds = Array.from({ length: ROUNDS }, (_, i) => `tick ${i + 1}`);

/** Runs `cmd` until it has printed `tick N`, then checkpoints it (SIGUSR2 to the pid the shell sees). */
async function checkpointAtTick(cmd: string[], tick: number) {
  const run = spawn(cmd, { cwd: dir });
  await run.waitFor((o) => o.includes(`tick ${tick}\n`));
  process.kill(run.pid, "SIGUSR2");
  const code = await run.exit();
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  expect(code).toBe(EXIT_CHECKPOINTED);
  return run.stdout;
}

async function checkpointedTree(tick = 4) {
  // setsid execs in place: the root leads its group, as a job-control shell
  // makes a job, and as a restart makes it again (the fixture checks its group).
  const out = await checkpointAtTick(["setsid", CKPT, fixture("tree-pipes"), String(ROUNDS)], tick);
  expect(memberFiles()).toHaveLength(3); // two children and a grandchild (the zombie has none), beside the root's image
  return out;
}

test("parent and two children in a ring of pipes: the output goes on, pids, parents and waitpid hold, the exit status is the root's", async () => {
  const before = await checkpointedTree();
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(ticksOf(before + rest.stdout)).toEqual(allRounds);
  expect(checksOf(rest.stdout).sort()).toEqual(EVERY_CHECK);
  expect(rest.code).toBe(7);
}, 90000);


// Members the root leaves running run on, as orphans of a plain run would (docs/process-trees.md): here
// they end on their own once the root is gone (their ring of pipes broken), and init with the last of them.
test("kill -TERM to the pid the shell sees reaches the root: the restart dies of it, and no process of the tree is left", async () => {
  await checkpointedTree();
  const rest = spawn([CKPT, "restart"], { cwd: dir });
  await rest.waitFor((o) => o.includes("tick 7\n"));
  expect(processesIn(dir).length).toBeGreaterThanOrEqual(5); // the tree, the supervisor, init and the stand-in
  process.kill(rest.pid, "SIGTERM");
  await rest.exit();
  expect(rest.proc.signalCode).toBe("SIGTERM");
  expect(rest.stderr).toBe("");
  await until(() => processesIn(dir).length === 0, () => `still running: ${processesIn(dir)}`);
}, 60000);

test("three generations: the restarted tree is checkpointed again, and that image restarts too", async () => {
  const first = await checkpointedTree(3);
  const second = await checkpointAtTick([CKPT, "restart"], 8);
  expect(memberFiles()).toHaveLength(3); // the older checkpoint's member files are gone
  const third = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(third.stderr).toBe("");
  expect(ticksOf(first + second + third.stdout)).toEqual(allRounds);
  expect(checksOf(third.stdout).sort()).toEqual(EVERY_CHECK);
  expect(third.code).toBe(7);
}, 120000);

/** A refused restart: one line naming the member image, exit 1, nothing of the program run, every file kept. */
async function expectRefused(args: string[], line: RegExp, env: Record<string, string> = {}) {
  const files = readdirSync(dir).sort();
  const rest = await runToEnd([CKPT, "restart", ...args], { cwd: dir, env });
  expect(rest.stderr).toMatch(line);
  expect(rest.stderr.split("\n")).toHaveLength(2);
  expect(rest.stdout).toBe("");
  expect(rest.code).toBe(1);
  expect(readdirSync(dir).sort()).toEqual(files);
}

test("a worker with a parent-death signal (PR_SET_PDEATHSIG) gets it when its parent exits after the restart", async () => {
  expect((await checkpointRun([fixture("parent-death")], { cwd: dir, afterLines: 1 })).code).toBe(EXIT_CHECKPOINTED);
  // Its output ends once the worker, which outlives the root, has ended too.
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toContain("parent exits\n");
  expect(rest.stdout).toContain("worker: told that its parent ended\n");
}, 60000);

test("a missing, corrupt, swapped or group-writable member image refuses the restart in one line naming it; put back, it restarts", async () => {
  await checkpointedTree();
  const [a, b] = memberFiles();
  const pidOf = (f: string) => f.split(".").pop();
  const keep = readFileSync(join(dir, a!));

  rmSync(join(dir, a!));
  await expectRefused([], new RegExp(`^ckpt: cannot restart .*${IMAGE}: member image ${a!.replaceAll(".", "\\.")} of pid ${pidOf(a!)}: No such file or directory\n$`));

  const corrupt = Buffer.from(keep);
  corrupt[100] = corrupt[100]! ^ 0xff;
  writeFileSync(join(dir, a!), corrupt, { mode: 0o600 });
  await expectRefused([], new RegExp(`^ckpt: cannot restart .*: member image ${a!.replaceAll(".", "\\.")} of pid ${pidOf(a!)}: header checksum mismatch \\(corrupt image\\)\n$`));

  writeFileSync(join(dir, a!), keep, { mode: 0o600 });
  renameSync(join(dir, a!), join(dir, "swap"));
  renameSync(join(dir, b!), join(dir, a!));
  renameSync(join(dir, "swap"), join(dir, b!));
  await expectRefused([], new RegExp(`^ckpt: cannot restart .*: member image ${a!.replaceAll(".", "\\.")} of pid ${pidOf(a!)}: not the image this checkpoint wrote`));

  renameSync(join(dir, a!), join(dir, "swap"));
  renameSync(join(dir, b!), join(dir, a!));
  renameSync(join(dir, "swap"), join(dir, b!));
  chmodSync(join(dir, a!), 0o660); // its bytes become code: only its owner may have written them
  await expectRefused([], new RegExp(`^ckpt: cannot restart .*: member image ${a!.replaceAll(".", "\\.")} of pid ${pidOf(a!)}: writable by group or others, so it could have been altered; run: chmod 600 ${join(dir, a!).replaceAll(".", "\\.")}\n$`));
  chmodSync(join(dir, a!), 0o600);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(7);
}, 120000);

const HELD = "kept open by children 1 and 2\n";

/** The tree checkpointed at tick 3 with `held` open in both children, then `held` removed. */
async function checkpointedHolding(held: string) {
  writeFileSync(held, HELD);
  const run = spawn(["setsid", CKPT, fixture("tree-pipes"), String(ROUNDS), held], { cwd: dir });
  await run.waitFor((o) => o.includes("tick 3\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  rmSync(held);
  return run;
}

async function restartsToItsEnd(before: string) {
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(ticksOf(before + rest.stdout)).toEqual(allRounds);
  expect(rest.code).toBe(7);
}

test("members refused once the tree exists (their open file is gone) end the whole restart in one line naming one; nothing runs", async () => {
  // Not in /tmp, whose small files the images keep and the restart makes again (below).
  await inLastingDir(async (lasting) => {
    const held = join(lasting, "held.txt");
    const run = await checkpointedHolding(held);
    await expectRefused([], new RegExp(`^ckpt: cannot restart .*: member image ${IMAGE.replace(".", "\\.")}\\.[0-9a-f]{16}\\.\\d+ of pid \\d+: fd \\d+: ${held} no longer exists\n$`));
    writeFileSync(held, HELD);
    await restartsToItsEnd(run.stdout);
  });
}, 90000);

test("members' own opens of a small file in a temporary directory, gone since the checkpoint: made again once, the tree runs to its end", async () => {
  const held = join(dir, "held.txt");
  const run = await checkpointedHolding(held);
  await restartsToItsEnd(run.stdout);
  expect(readFileSync(held, "utf8")).toBe(HELD);
}, 90000);

test("as an unprivileged user (a user namespace too), the tree comes back the same", async () => {
  chmodSync(dir, 0o777);
  const nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
  const before = await checkpointAtTick([...nobody, "setsid", CKPT, fixture("tree-pipes"), String(ROUNDS)], 4);
  const rest = await runToEnd([...nobody, CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(ticksOf(before + rest.stdout)).toEqual(allRounds);
  expect(checksOf(rest.stdout).sort()).toEqual(EVERY_CHECK);
  expect(rest.code).toBe(7);
}, 90000);

test("a member image restarted on its own is refused in one line: its root's image restarts the tree", async () => {
  await checkpointedTree();
  const [a] = memberFiles();
  await expectRefused([a!], /^ckpt: cannot restart .*: the image of pid \d+ alone, a member of the process tree of pid \d+: restart the tree's root image instead\n$/);
}, 60000);

test("--new-pid, or namespaces unavailable (user namespaces disabled), refuse a tree in one line, before anything runs", async () => {
  await checkpointedTree();
  await expectRefused(["--new-pid"], /^ckpt: cannot restart .*: a process tree \(5 processes\) restarts only into a new pid namespace, at its old pids: --new-pid asks for a new pid\n$/);
  await expectRefused(
    [],
    /^ckpt: cannot restart .*: a process tree \(5 processes\) restarts only into a new pid namespace, at its old pids: namespaces made unavailable for a test \(CKPT_RESTART_NAMESPACE\)\n$/,
    { [CKPT_ENV_NAMESPACE]: CKPT_NAMESPACE_TEST_UNAVAILABLE },
  );
}, 60000);

test("ckpt-restore --check judges the root image alone, --verify every member image's stored bytes too", async () => {
  await checkpointedTree();
  const [a] = memberFiles();
  const stub = (flag: string) => runToEnd([join(ROOT, "build", "ckpt-restore"), flag, join(dir, IMAGE)], { cwd: dir });
  for (const flag of ["--check", "--verify"]) expect(await stub(flag)).toEqual({ code: 0, stdout: "", stderr: "" });
  const bytes = readFileSync(join(dir, a!));
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // a stored byte: only a full read sees it
  writeFileSync(join(dir, a!), bytes, { mode: 0o600 });
  expect((await stub("--check")).code).toBe(0);
  const bad = await stub("--verify");
  expect(bad.stderr).toMatch(new RegExp(`^ckpt: cannot restart .*: member image ${a!.replaceAll(".", "\\.")} of pid \\d+: .*checksum mismatch.*\n$`));
  expect(bad.code).toBe(1);
}, 60000);

const noPython = !Bun.which("python3");
if (noPython) console.warn("tree-restart.test.ts: python3 is not installed; the terminal test is skipped");

/**
 * An interactive bash on a fresh pseudo-terminal (argv: ckpt, fixture,
 * directory): the fixture runs as a job, its child's group in the
 * foreground; the root is checkpointed, the tree restarted in the
 * foreground, then Ctrl-C, then a command at the prompt.
 */
const FOREGROUND_GROUP = `
import os, pty, re, select, signal, sys, time
ckpt, program, where = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
out = b""
def read_until(pattern, seconds):
    global out
    end = time.time() + seconds
    while not re.search(pattern, out) and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try: out += os.read(fd, 4096)
            except OSError: break
def say(text, then, seconds=20):
    os.write(fd, text)
    read_until(then, seconds)
say(f"cd {where}; PS1='ready$ '; {ckpt} {program}\\n".encode(), rb"tick 3 ")
root = int(re.search(rb"root (\\d+)", out).group(1))
os.kill(root, signal.SIGUSR2)
read_until(rb"exit status 85[\\s\\S]*ready\\$ ", 20)
say(f"{ckpt} restart; echo status-$?\\n".encode(), rb"restart;[\\s\\S]*tick \\d+ mine[\\s\\S]*tick \\d+ mine")
os.write(fd, b"\\x03")
read_until(rb"status-\\d", 20)  # a digit: the typed line holds "status-$?" already
say(b"echo still-$((40+2)); exit\\n", rb"still-42")
sys.stdout.write(out.decode(errors="replace"))
`;

test.skipIf(noPython)("at a terminal, the foreground group is the image's again: the child's group holds the terminal and Ctrl-C reaches it alone", async () => {
  writeFileSync(join(dir, "foreground.py"), FOREGROUND_GROUP);
  const r = await runToEnd(["python3", join(dir, "foreground.py"), CKPT, fixture("tree-foreground"), dir], { cwd: dir }, 90000);
  const out = r.stdout.replace(/\r|\x1b\[\?2004[hl]/g, ""); // bash's bracketed-paste switches
  const [before, after] = out.split(/exit status 85/);
  expect(before).toMatch(/tick 3 mine/);
  expect(after).toMatch(/restart; echo status-\$\?\n(tick \d+ mine\n)+/);
  expect(after).toMatch(/\^C[^]*child ended by SIGINT\nstatus-5\n/);
  expect(after).not.toContain("not mine");
  expect(after).toContain("still-42");
}, 90000);

