// Periodic checkpoints (--interval, --keep): the watcher (c/stub/watch.c)
// asks for a background checkpoint every period, libckpt keeps the newest
// images (c/lib/image_rotation.c). A SIGKILL at a random moment loses only
// what followed the last complete checkpoint, which restarts exactly; a
// failing checkpoint is said once and retried; the watcher is never the
// program's child and never outlives it.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, fixture, lines, need, type Running, runToEnd, spawn, strace, until } from "./harness.ts";
import { commits, inode, writersOf, writersWhere } from "./periodic.ts";
import { hasEnded } from "../../src/process/proc.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const PERIOD = "300ms";
const textLines = (out: string) => out.split("\n").slice(0, -1);

function start(args: string[]): Running {
  const r = ckpt(args, { cwd: dir });
  running.push(r);
  return r;
}

/** The pids of the watchers of `pid` (`ckpt-restore --watch PID ...`), zombies left out. */
function watchersOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (argv[1] === "--watch" && argv[2] === String(pid) && !hasEnded(Number(entry))) found.push(Number(entry));
  }
  return found;
}

/**
 * SIGKILLs `r`, a run of `exe`, once a first checkpoint exists plus a random
 * 0-1.2 s, as a node failure would; returns once a background writer still
 * at work has committed (or not), so the image stays as it is from then on.
 */
async function killAtRandom(r: Running, image: string, exe: string): Promise<number> {
  await commits(image, 1);
  const delay = Math.floor(Math.random() * 1200);
  await Bun.sleep(delay);
  r.proc.kill("SIGKILL");
  await r.done;
  await until(() => writersOf(exe).length === 0, () => "a writer still at work after the SIGKILL to finish");
  return delay;
}

/**
 * `out` is a contiguous run of the reference's lines: from its start for a
 * fresh run (`reached` 0), else resumed from a point the earlier runs had
 * reached (after line 0, at most one past their last line: nothing lost,
 * nothing printed twice within it). Returns the index just past it.
 */
function expectSlice(reference: string[], out: string[], reached: number, why: string): number {
  const from = reached === 0 ? 0 : reference.indexOf(out[0]!);
  expect({ why, out }).toEqual({ why, out: reference.slice(from, from + out.length) });
  if (reached > 0) expect({ why, from, resumedWithinReach: from > 0 && from <= reached }).toEqual({ why, from, resumedWithinReach: true });
  return from + out.length;
}

test("--interval on a counting program: SIGKILL at a random moment, the restart continues from the newest checkpoint", async () => {
  const ticker = demo("ticker");
  const reference = textLines((await runToEnd([ticker, "250"], { cwd: dir })).stdout);
  const first = start(["--interval", PERIOD, ticker, "250"]);
  const delay = await killAtRandom(first, join(dir, "myckpt.dat"), ticker);
  // Quiet when it works: no line per period.
  expect(first.stderr).toBe("");
  await until(() => watchersOf(first.pid).length === 0, () => `the watcher of ${first.pid} still runs after its SIGKILL`);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  const why = `killed ${delay} ms after the first checkpoint`;
  const reached = expectSlice(reference, textLines(first.stdout), 0, why);
  expect(expectSlice(reference, textLines(rest.stdout), reached, why)).toBe(reference.length);
}, 60000);

test("--interval on threads writing memory: every page of every thread comes back as written", async () => {
  const first = start(["--interval", PERIOD, fixture("interval-threads")]);
  await first.waitFor((o) => o.includes("ready"));
  const delay = await killAtRandom(first, join(dir, "myckpt.dat"), fixture("interval-threads"));
  expect(first.stderr).toBe("");

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const checks = textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l));
  expect({ delay, fails: checks.filter((l) => l.startsWith("FAIL")) }).toEqual({ delay, fails: [] });
  expect(checks).toHaveLength(3);
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

/**
 * The names in `dir`: the newest `keep` images, then the older images they
 * read from (incremental images: c/lib/image_rotation.c keeps those until
 * nothing kept refers to them), and nothing else.
 */
function expectKept(keep: number, others: string[] = []): void {
  const kept = ["k.dat", ...Array.from({ length: keep - 1 }, (_, i) => `k.dat.${i + 1}`)];
  const idOf = (name: string) => JSON.parse(Bun.spawnSync([CKPT, "info", "--json", name], { cwd: dir }).stdout.toString()).incremental;
  const needed = new Set(kept.flatMap((name) => idOf(name).chain.map((l: { imageId: string }) => l.imageId)));
  const number = (n: string) => Number(n.slice("k.dat".length + 1) || 0);
  const names = readdirSync(dir).filter((n) => !others.includes(n)).sort((a, b) => number(a) - number(b));
  expect(names.slice(0, keep)).toEqual(kept);
  for (const name of names.slice(keep)) expect({ name, readFrom: needed.has(idOf(name).imageId) }).toEqual({ name, readFrom: true });
}

test("--keep 2 leaves two images and the older ones they read from, and each of them restores", async () => {
  const ticker = demo("ticker");
  const reference = textLines((await runToEnd([ticker, "200"], { cwd: dir })).stdout);
  const first = start(["--interval", PERIOD, "--keep", "2", "--image", "k.dat", ticker, "200"]);
  await commits(join(dir, "k.dat"), 4);
  first.proc.kill("SIGKILL");
  await first.done;
  await until(() => writersOf(ticker).length === 0, () => "a writer still at work after the SIGKILL to finish");
  expectKept(2);
  expect(statSync(join(dir, "k.dat")).ino).not.toBe(statSync(join(dir, "k.dat.1")).ino);

  const list = await runToEnd([CKPT, "list"], { cwd: dir });
  expect(list.stdout).toMatch(/^k\.dat +.*ticker 200$/m);
  expect(list.stdout).toMatch(/^k\.dat\.1 +.*ticker 200$/m);

  const reached = expectSlice(reference, textLines(first.stdout), 0, "first run");
  const older = await runToEnd([CKPT, "restart", "k.dat.1"], { cwd: dir });
  const newer = await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir });
  for (const r of [older, newer]) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const resumed = [older, newer].map((r, i) => {
    const out = textLines(r.stdout);
    expect(expectSlice(reference, out, reached, ["k.dat.1", "k.dat"][i]!)).toBe(reference.length);
    return reference.length - out.length;
  });
  expect(resumed[0]).toBeLessThan(resumed[1]!); // k.dat.1 is the older
}, 60000);

describe("--keep's rotation, a writer SIGKILLed at each of its steps (strace's fault injection)", () => {
  // The writer's calls with --keep 3 and no chain: linkat #1 names the new image .k.dat.ckpt-tmp;
  // renameat #1 moves k.dat.1 over k.dat.2; linkat #2 makes .k.dat.ckpt-keep a second name of k.dat,
  // renameat #2 moves it over k.dat.1; renameat #3 moves the new image over k.dat. While incremental
  // images keep older ones too, the first renames move those up, and the later steps come later.
  for (const [call, when, step] of [
    ["linkat", 1, "naming the new image"], ["renameat", 1, "moving k.dat.1 up"], ["linkat", 2, "linking k.dat aside"],
    ["renameat", 2, "moving that link over k.dat.1"], ["renameat", 3, "the final rename"],
  ] as const) {
    test(`at ${step}: k.dat is still a complete image, and the next commit leaves three and what they read from`, async () => {
      const program = join(dir, "ticker");
      copyFileSync(demo("ticker"), program);
      chmodSync(program, 0o755);
      const image = join(dir, "k.dat");
      const run = start(["--interval", PERIOD, "--keep", "3", "--image", "k.dat", program, "3000"]);
      await commits(image, 3);
      const s = await strace(dir, run.pid, ["-e", "trace=linkat,renameat,renameat2", "-e", `inject=${call}:signal=KILL:when=${when}`]);
      if (!s) return;
      await until(() => readFileSync(s.log, "utf8").includes("+++ killed by SIGKILL"), () => `a writer killed at ${call} #${when}`);
      const killedWriter = Number(/^(\d+) +\+\+\+ killed by SIGKILL/m.exec(readFileSync(s.log, "utf8"))?.[1]);
      const verify = (name: string) => runToEnd([CKPT, "info", "--verify", name], { cwd: dir });
      expect({ step, code: (await verify("k.dat")).code }).toEqual({ step, code: 0 });
      s.proc.proc.kill("SIGTERM"); // detaches; the program runs on
      await s.proc.done;
      const killed = inode(image);
      await until(() => inode(image) !== killed, () => "a commit after the killed one");
      // Then no more: the directory is looked at with no writer between two steps.
      run.proc.kill("SIGKILL");
      await run.done;
      await until(() => writersOf(program).length === 0, () => "the last writer to finish");
      expectKept(3, ["ticker"]);
      for (const name of ["k.dat", "k.dat.1", "k.dat.2"]) expect({ step, name, code: (await verify(name)).code }).toEqual({ step, name, code: 0 });
      // The killed writer said nothing; the next period says it, in one line.
      expect(run.stderr).toBe(
        `ckpt: periodic checkpoint failed: its writer (pid ${killedWriter}) was killed before the image was complete (SIGKILL, or the OOM killer); ` +
          `${image} is as it was before that checkpoint; the program continues, and the next period tries again\n`,
      );
    }, 60000);
  }
});

test("a failing periodic checkpoint is said once, the program runs on, and a later period succeeds once the socket is closed", async () => {
  const first = start(["--interval", PERIOD, fixture("interval-socket")]);
  await first.waitFor((o) => o.includes("closed after 3 attempts"));
  await commits(join(dir, "myckpt.dat"), 1);
  first.proc.kill("SIGKILL");
  await first.done;
  expect(first.stdout).toBe("sockets 3 4\nready\nclosed after 3 attempts\nready\n");
  expect(first.stderr).toMatch(
    /^ckpt: periodic checkpoint failed: fd 3 \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\) [^\n]*; the program continues, and each period tries again \(silently, while it fails the same way\)\n$/,
  );

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stdout).toBe("PASS the sockets are still closed after the restart\nPASS the heap is as it was\n");
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

test("periods that come while an image is still being written are skipped: no second writer, and the program never waits", async () => {
  const program = join(dir, "heap-ticker"); // a path of its own, to know its writers
  copyFileSync(fixture("heap-ticker"), program);
  chmodSync(program, 0o755);
  const reference = await runToEnd([program, "32", "150"], { cwd: dir });
  const run = start(["--interval", PERIOD, program, "32", "150"]);
  // Hold the first writer we catch mid-write, for many periods.
  let writer = 0;
  await until(() => ([writer = 0] = writersOf(program)) && writer > 0, () => "a background writer", 30000);
  process.kill(writer, "SIGSTOP");
  const held = lines(run.stdout);
  await run.waitFor((o) => lines(o) >= held + 40); // several periods on
  expect(writersOf(program)).toEqual([writer]);
  process.kill(writer, "SIGCONT");
  await until(() => hasEnded(writer), () => `writer ${writer} to finish`);
  const after = inode(join(dir, "myckpt.dat"));
  await until(() => inode(join(dir, "myckpt.dat")) !== after, () => "a checkpoint after the held one");
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe(reference.stdout);
  expect(run.stderr).toBe("");
}, 60000);

test("the watcher is not the program's child, not in its session, and is gone once the program exits", async () => {
  const ticker = demo("ticker");
  const reference = await runToEnd([ticker, "60"], { cwd: dir });
  const run = start(["--interval", PERIOD, ticker, "60"]);
  await run.waitFor((o) => o.length > 0);
  await until(() => watchersOf(run.pid).length === 1, () => `one watcher of ${run.pid}`);
  const [watcher] = watchersOf(run.pid);
  const children = readdirSync(`/proc/${run.pid}/task`).map((t) => readFileSync(`/proc/${run.pid}/task/${t}/children`, "utf8").trim());
  expect(children.filter((c) => c !== "")).toEqual([]);
  const field = (pid: number, n: number) => readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ")[n - 3];
  expect(field(watcher!, 6)).not.toBe(field(run.pid, 6)); // session
  expect(field(watcher!, 5)).not.toBe(field(run.pid, 5)); // process group
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe(reference.stdout);
  expect(run.stderr).toBe("");
  await until(() => hasEnded(watcher!), () => `watcher ${watcher} still runs after the program exited`);
}, 60000);

test("a child subreaper checkpointed every period: its wait() never finds a writer, no SIGCHLD comes, it stays a subreaper", async () => {
  const run = start(["--interval", "150ms", fixture("subreaper-waits"), "40"]);
  await commits(join(dir, "myckpt.dat"), 3);
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe("");
  expect(textLines(run.stdout).at(-1)).toBe("PASS: 0 foreign children, 0 SIGCHLD, subreaper 1");
}, 60000);

test("run-or-restart --interval: a job killed twice resumes each time from its last periodic checkpoint", async () => {
  const ticker = demo("ticker");
  const reference = textLines((await runToEnd([ticker, "250"], { cwd: dir })).stdout);
  const job = ["run-or-restart", "--interval", PERIOD, "--image", "job.dat", ticker, "250"];
  const image = join(dir, "job.dat");
  let reached = 0;
  for (const attempt of ["fresh start", "first restart"]) {
    const r = start(job);
    // A restart is killed only once its own watcher has committed a new image.
    if (inode(image)) await commits(image, 2);
    const delay = await killAtRandom(r, image, ticker);
    expect({ attempt, stderr: r.stderr }).toEqual({ attempt, stderr: "" });
    reached = expectSlice(reference, textLines(r.stdout), reached, `${attempt}, killed ${delay} ms after a checkpoint`);
  }
  const last = await runToEnd([CKPT, ...job], { cwd: dir });
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  expect(expectSlice(reference, textLines(last.stdout), reached, "last run")).toBe(reference.length);
}, 90000);

test("restart --interval finds the first run's trigger (--signal USR1) in the restored program and checkpoints it", async () => {
  const ticker = demo("ticker");
  const reference = textLines((await runToEnd([ticker, "200"], { cwd: dir })).stdout);
  const first = start(["--signal", "USR1", ticker, "200"]);
  await first.waitFor((o) => lines(o) >= 20);
  process.kill(first.pid, "SIGUSR1");
  expect(await first.exit()).toBe(85);
  let reached = expectSlice(reference, textLines(first.stdout), 0, "first run");

  const image = join(dir, "myckpt.dat");
  const second = start(["restart", "--interval", PERIOD]);
  await commits(image, 2); // the stopped one, then the restarted program's own
  second.proc.kill("SIGKILL");
  await second.done;
  expect(second.stderr).toBe("");
  reached = expectSlice(reference, textLines(second.stdout), reached, "restarted with --interval");
  const last = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  expect(expectSlice(reference, textLines(last.stdout), reached, "last run")).toBe(reference.length);
}, 60000);

test("an inherited descriptor that cannot be restored is warned about once, not every period", async () => {
  const ticker = demo("ticker");
  const reference = await runToEnd([ticker, "150"], { cwd: dir });
  // dash makes a here-document a pipe, written by the shell: ckpt drops it, with a warning.
  const launch = 'exec 3<<EOF\nsome input\nEOF\nexec "$0" "$@"';
  const run = spawn(["/bin/sh", "-c", launch, CKPT, "--interval", PERIOD, ticker, "150"], { cwd: dir });
  running.push(run);
  await commits(join(dir, "myckpt.dat"), 3);
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe(reference.stdout);
  expect(run.stderr).toMatch(/^ckpt: warning: fd 3 \(a pipe to another process\) cannot be restored; it will be closed after a restart\n$/);
}, 60000);

test("a tree whose new processes inherit that descriptor (a shell running a sleep each round): still one warning, the root's", async () => {
  const launch = 'exec 3<<EOF\nsome input\nEOF\nexec "$0" "$@"';
  const rounds = "i=0; while [ $i -lt 40 ]; do sleep 0.1; i=$((i+1)); done; echo done";
  const run = spawn(["/bin/sh", "-c", launch, CKPT, "--interval", PERIOD, "/bin/sh", "-c", rounds], { cwd: dir });
  running.push(run);
  await commits(join(dir, "myckpt.dat"), 3);
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe("done\n");
  expect(run.stderr).toMatch(/^ckpt: warning: fd 3 \(a pipe to another process\) cannot be restored; it will be closed after a restart\n$/);
}, 60000);

// Python's NamedTemporaryFile deletes its file on close: the image's round
// had one open that a later round's close deleted before the SIGKILL. Its
// bytes are in the image, and the restart makes it again (c/kinds/fd_file.c).
const ROUNDS_PY = `import hashlib, tempfile, time
h = hashlib.sha256()
for r in range(25):
    with tempfile.NamedTemporaryFile("w+", suffix=".txt") as f:
        for i in range(5):
            f.write(f"round {r} line {i}\\n"); f.flush(); time.sleep(0.03)
        f.seek(0); h.update(f.read().encode())
    print(r, h.hexdigest()[:16], flush=True)
`;

test("python3 rounds, each through a NamedTemporaryFile, under --interval, SIGKILLed at a random moment: the restart ends with an uninterrupted run's digest", async () => {
  need("python3", "python3");
  const script = join(dir, "rounds.py");
  writeFileSync(script, ROUNDS_PY);
  const reference = textLines((await runToEnd(["python3", script], { cwd: dir })).stdout);
  const first = start(["--interval", PERIOD, "python3", script]);
  await commits(join(dir, "myckpt.dat"), 2);
  await Bun.sleep(Math.floor(Math.random() * 600));
  first.proc.kill("SIGKILL");
  await first.done;
  await until(() => writersWhere((argv) => argv.includes(script)).length === 0, () => "a writer still at work after the SIGKILL to finish");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  const resumed = textLines(rest.stdout);
  expect(resumed.length).toBeGreaterThan(0);
  expect(resumed).toEqual(reference.slice(reference.length - resumed.length));
}, 60000);

test("bad --interval and --keep values: one line, exit 2, nothing runs", async () => {
  const cases: [string[], RegExp][] = [
    [["--interval", "5x", "true"], /--interval '5x': give a number and a unit/],
    [["--interval", "90", "true"], /--interval '90': give a number and a unit/],
    [["--interval", "10ms", "true"], /the shortest interval is 100ms/],
    [["--interval", "1s", "--keep", "0", "true"], /--keep '0': give a whole number of checkpoints from 1 to 99/],
    [["--keep", "2", "true"], /--keep needs --interval/],
    [["restart", "--interval", "soon"], /--interval 'soon'/],
    [["run-or-restart", "--interval", "1s", "--keep", "x", "true"], /--keep 'x'/],
  ];
  for (const [args, message] of cases) {
    const r = await runToEnd([CKPT, ...args], { cwd: dir });
    expect({ args, code: r.code, stdout: r.stdout, lines: textLines(r.stderr).length }).toEqual({ args, code: 2, stdout: "", lines: 1 });
    expect(r.stderr).toMatch(message);
  }
  expect(readdirSync(dir)).toEqual([]);
}, 60000);
