// Batch tools nobody here wrote (sqlite3, xz, zstd, sort, tar | gzip, rsync,
// bc, perl, node, tclsh, python3's subprocess), tried as a new user would: each is checkpointed mid-work
// (by SIGUSR2 or by `ckpt checkpoint PID`), restarted, and what it leaves
// behind (its output, a database, an archive) must be an uninterrupted run's.
// A missing tool fails, naming its package.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, lines, need, type Running, runToEnd, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

/** The tool's path; a missing one fails the test with the Debian package to install (.ci/run does). */
/** Every process below `pid` with its command name (one gone meanwhile is left out). */
function descendants(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  const read = (p: string) => { try { return readFileSync(p, "utf8"); } catch { return ""; } };
  for (let queue = [pid]; queue.length; ) {
    const p = queue.shift()!;
    for (const t of (() => { try { return readdirSync(`/proc/${p}/task`); } catch { return []; } })())
      for (const c of read(`/proc/${p}/task/${t}/children`).trim().split(" ").filter(Boolean).map(Number)) {
        out.push({ pid: c, comm: read(`/proc/${c}/comm`).trim() });
        queue.push(c);
      }
  }
  return out;
}

/** CPU time (user, in clock ticks) the process named `comm` in `pid`'s tree (or `pid` itself) has used so far. */
function cpuTicks(pid: number, comm: string): number {
  for (const p of [{ pid, comm: "" }, ...descendants(pid)]) {
    let stat = "";
    try { stat = readFileSync(`/proc/${p.pid}/stat`, "utf8"); } catch { continue; }
    if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === comm) return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[11]);
  }
  return 0;
}

// One open file of /tmp (the test's directory) inherited by two children
// that write to it: a description the tree's processes share, made once by
// the restart's root from its first holder's record and image, and made
// again from its kept bytes since it was deleted (c/kinds/fd_file.c).
test("python3 children writing through the file object they inherited, the file deleted after the checkpoint: made again once, every line there at the end", async () => {
  const program = [
    "import os, time", "f = open('log.txt', 'w', buffering=1)", "kids = []",
    "for k in range(2):", "    pid = os.fork()",
    "    if pid == 0:", "        for i in range(40): f.write(f'child {k} line {i}\\n'); time.sleep(0.03)", "        os._exit(0)",
    "    kids.append(pid)",
    "print('ready', flush=True)", "for p in kids: os.waitpid(p, 0)", "f.close()",
    "lines = open('log.txt').read().splitlines()",
    "print('lines', len(lines), 'ok' if sorted(lines) == sorted(f'child {k} line {i}' for k in range(2) for i in range(40)) else 'BAD')",
  ].join("\n");
  const run = ckpt([need("python3", "python3"), "-c", program], { cwd: dir });
  running.push(run);
  const log = join(dir, "log.txt");
  await until(() => run.stdout.includes("ready") && size(log) > 200, () => `not ready; stdout ${run.stdout} stderr ${run.stderr}`);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  rmSync(log);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr, stdout: rest.stdout }).toEqual({ code: 0, stderr: "", stdout: "lines 80 ok\n" });
}, 60000);

const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);

type How = "kill -USR2" | "ckpt checkpoint";

/**
 * Runs `cmd` uninterrupted in DIR/ref, then under ckpt in DIR/run until
 * `ready(run)`, checkpoints it `how`, restarts it there and waits for its end.
 * Returns both directories and the checkpointed run's output, both parts joined.
 */
async function acrossRestart(cmd: string[], how: How, ready: (run: Running, where: string) => boolean, ckptArgs: string[] = []) {
  const ref = join(dir, "ref"), where = join(dir, "run");
  mkdirSync(ref), mkdirSync(where);
  const reference = await runToEnd(cmd, { cwd: ref });
  expect(reference.stderr).toBe("");
  expect(reference.code).toBe(0);
  const run = ckpt([...ckptArgs, ...cmd], { cwd: where });
  running.push(run);
  await until(() => ready(run, where) || run.proc.exitCode !== null, () => `not ready; stdout ${run.stdout} stderr ${run.stderr}`);
  expect(run.proc.exitCode).toBeNull(); // still at work: the checkpoint is mid-run
  if (how === "kill -USR2") process.kill(run.pid, "SIGUSR2");
  else expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: where })).code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toMatch(/^ckpt: (checkpoint written to|taking a checkpoint into) [^\n]*\n$/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: where });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  return { ref, where, reference: reference.stdout, stdout: run.stdout + rest.stdout };
}

/** What `sqlite3` says of the database: its integrity check, then every row it holds. */
async function databaseState(db: string): Promise<string> {
  const r = await runToEnd([need("sqlite3", "sqlite3"), db, "PRAGMA integrity_check;", ".dump"], { cwd: dir });
  expect(r.stderr).toBe("");
  expect(r.stdout.startsWith("ok\n")).toBe(true);
  return r.stdout;
}

/** Ten rounds of CPU-paced inserts, each its own transaction, with a progress line after each. */
function sqlScript(journal: string): string {
  const paced = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000) SELECT sum(x % 97) FROM c)";
  let sql = `PRAGMA journal_mode=${journal};\nCREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT);\n`;
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 8; i++) sql += `INSERT INTO t(v) SELECT printf('%d-%d-%d', ${round}, ${i}, ${paced});\n`;
    sql += `SELECT 'round', ${round}, count(*) FROM t;\n`;
  }
  return sql;
}

for (const [journal, how] of [["DELETE", "kill -USR2"], ["WAL", "ckpt checkpoint"]] as const)
  test(`sqlite3 running a script into a database in ${journal} journal mode, checkpointed (${how}) mid-script: the database passes its integrity check and holds an uninterrupted run's rows`, async () => {
    const sqlite3 = need("sqlite3", "sqlite3");
    writeFileSync(join(dir, "script.sql"), sqlScript(journal));
    const r = await acrossRestart([sqlite3, "data.db", ".read ../script.sql"], how, (run) => lines(run.stdout) >= 4);
    expect(r.stdout).toBe(r.reference);
    expect(await databaseState(join(r.where, "data.db"))).toBe(await databaseState(join(r.ref, "data.db")));
  }, 60000);

test("python3's sqlite3 module inserting in a loop in WAL mode (its -shm file mapped MAP_SHARED), checkpointed mid-loop: the database holds an uninterrupted run's rows", async () => {
  need("sqlite3", "sqlite3");
  const program = [
    "import sqlite3", "db = sqlite3.connect('p.db')", "db.execute('PRAGMA journal_mode=WAL')",
    "db.execute('CREATE TABLE t(i INTEGER PRIMARY KEY, v TEXT)')",
    "for i in range(400):",
    "    with db: db.execute('INSERT INTO t(v) VALUES(?)', ('%d-%d' % (i, sum(j % 7 for j in range(20000))),))",
    "    if i % 40 == 0: print('py', i, db.execute('SELECT count(*) FROM t').fetchone()[0], flush=True)",
    "print('done', db.execute('SELECT count(*) FROM t').fetchone()[0])",
  ].join("\n");
  const r = await acrossRestart([need("python3", "python3"), "-c", program], "kill -USR2", (run) => lines(run.stdout) >= 3);
  expect(r.stdout).toBe(r.reference);
  expect(await databaseState(join(r.where, "p.db"))).toBe(await databaseState(join(r.ref, "p.db")));
}, 60000);

// The input arrives paced from a shell loop, so the compressor is mid-stream
// (its worker threads at work) when its first output shows.
const PACED_NUMBERS = "for i in $(seq 0 24); do seq $((i * 100000)) $((i * 100000 + 99999)); sleep 0.1; done";

for (const [tool, pkg, compress, decompress] of [
  ["xz", "xz-utils", "xz -T2 -1", "-dc"],
  ["zstd", "zstd", "zstd -T2 -q", "-dcq"],
] as const)
  test(`${compress} compressing a stream from a pipe into a file, checkpointed mid-stream: the file decompresses to the input`, async () => {
    need(tool, pkg);
    const r = await acrossRestart(["/usr/bin/bash", "-c", `${PACED_NUMBERS} | ${compress} > out.${tool}; echo ${tool} done`], "kill -USR2",
      (_run, where) => size(join(where, `out.${tool}`)) > 0);
    expect(r.stdout).toBe(`${tool} done\n`);
    const input = await runToEnd(["/usr/bin/bash", "-c", `${PACED_NUMBERS.replace("sleep 0.1; ", "")} | md5sum`], { cwd: dir });
    const output = await runToEnd(["/usr/bin/bash", "-c", `${tool} ${decompress} out.${tool} | md5sum`], { cwd: r.where });
    expect(output.stderr).toBe("");
    expect(output.stdout).toBe(input.stdout);
  }, 60000);

/** GNU sort's temporary files (sortXXXXXX) in `where`. */
const spills = (where: string) => readdirSync(where).filter((f) => /^sort[A-Za-z0-9]{6}$/.test(f));

test("sort of a file larger than its -S buffer, checkpointed while its temporary files are open: output identical to an uninterrupted sort", async () => {
  const sort = need("sort", "coreutils");
  const numbers = Array.from({ length: 800000 }, (_, i) => String((i * 7919) % 1000003)).join("\n") + "\n";
  writeFileSync(join(dir, "input"), numbers);
  const r = await acrossRestart([sort, "-S", "100K", "-T", ".", "--parallel=1", "-o", "out.txt", "../input"], "ckpt checkpoint",
    (_run, where) => spills(where).length >= 3);
  const sorted = readFileSync(join(r.where, "out.txt"), "utf8");
  expect(sorted.length).toBe(numbers.length);
  expect(sorted).toBe(readFileSync(join(r.ref, "out.txt"), "utf8"));
  expect(spills(r.where)).toEqual([]); // removed by the restarted sort as it ends
}, 60000);

test("tar c dir | gzip > file (a process tree), checkpointed mid-archive: tar t lists every file, each holding what it held", async () => {
  need("tar", "tar"), need("gzip", "gzip");
  mkdirSync(join(dir, "tree"));
  for (let f = 0; f < 40; f++)
    writeFileSync(join(dir, "tree", `f${f}.txt`), Array.from({ length: 60000 }, (_, i) => `${f} ${i * 3}`).join("\n"));
  const r = await acrossRestart(["/usr/bin/bash", "-c", "tar c -C .. tree | gzip -9 > a.tgz; echo tar done"], "kill -USR2",
    (_run, where) => size(join(where, "a.tgz")) > 0);
  expect(r.stdout).toBe("tar done\n");
  const listing = (where: string) => runToEnd(["/usr/bin/bash", "-c", "tar tvzf a.tgz && gzip -dc a.tgz | md5sum"], { cwd: where });
  const restarted = await listing(r.where);
  expect(restarted.stdout.split("\n").filter((l) => l.includes("tree/f"))).toHaveLength(40);
  expect(restarted.stdout).toBe((await listing(r.ref)).stdout);
}, 60000);

// rsync's sender, generator and receiver: three processes over socket
// pairs, the sender holding its source directory O_PATH (once refused as a
// dnotify watch). SIGUSR1 and SIGUSR2 are its own: the trigger is another.
test("rsync -a of 40 files at a bandwidth limit, checkpointed mid-copy: every file arrives whole, as in an uninterrupted copy", async () => {
  const rsync = need("rsync", "rsync");
  mkdirSync(join(dir, "src"));
  for (let f = 0; f < 40; f++)
    writeFileSync(join(dir, "src", `f${f}`), Array.from({ length: 90000 }, (_, i) => `${f}:${(i * 7919 + f) % 100003}`).join("\n"));
  const r = await acrossRestart([rsync, "-a", "--bwlimit=20000", "../src/", "dst/"], "ckpt checkpoint",
    (_run, where) => existsSync(join(where, "dst")) && readdirSync(join(where, "dst")).length >= 5, ["--signal", "SIGRTMIN+3"]);
  const files = (where: string) => readdirSync(join(where, "dst")).sort();
  expect(files(r.where)).toHaveLength(40);
  expect(files(r.where)).toEqual(files(r.ref));
  for (const f of files(r.where)) expect(readFileSync(join(r.where, "dst", f), "utf8")).toBe(readFileSync(join(dir, "src", f), "utf8"));
}, 60000);

test("bc -l computing pi to 2000 digits, checkpointed mid-computation: the same digits", async () => {
  const bc = need("bc", "bc");
  writeFileSync(join(dir, "pi.bc"), "scale=2000; 4*a(1)\nquit\n");
  const r = await acrossRestart([bc, "-lq", "../pi.bc"], "ckpt checkpoint", (run) => cpuTicks(run.pid, "bc") >= 20);
  expect(r.stdout.length).toBeGreaterThan(2000);
  expect(r.stdout).toBe(r.reference);
}, 60000);

test("perl forking a child that writes to it through a pipe, checkpointed mid-stream: same lines, same child exit status", async () => {
  const program = `$| = 1; pipe(my $r, my $w) or die; my $pid = fork // die;
    if (!$pid) { close $r; select((select($w), $| = 1)[0]); for my $i (0..24) { print $w "child $i ", $i * 7, "\\n"; select(undef, undef, undef, 0.08) } exit 3 }
    close $w; while (my $l = <$r>) { print "got $l" } waitpid($pid, 0); print "child exit ", $? >> 8, "\\n";`;
  const r = await acrossRestart([need("perl", "perl"), "-e", program], "kill -USR2", (run) => lines(run.stdout) >= 6);
  expect(r.stdout).toBe(r.reference);
  expect(r.stdout).toContain("child exit 3\n");
}, 60000);

test("node with a worker_threads worker fed by setInterval, checkpointed mid-run: the same answers in the same order", async () => {
  const program = `const { Worker } = require('worker_threads');
    const w = new Worker("require('worker_threads').parentPort.on('message', (n) => { let s = 0; for (let i = 0; i < n * 1000; i++) s += i % 7; require('worker_threads').parentPort.postMessage(s); });", { eval: true });
    let i = 0; w.on('message', (s) => console.log('node', i, s));
    const t = setInterval(() => { if (++i > 20) { clearInterval(t); w.terminate().then(() => console.log('done')); return; } w.postMessage(i); }, 80);`;
  const r = await acrossRestart([need("node", "nodejs"), "-e", program], "ckpt checkpoint", (run) => lines(run.stdout) >= 5);
  expect(r.stdout).toBe(r.reference);
  expect(r.stdout).toMatch(/^(node \d+ \d+\n){20}done\n$/);
}, 60000);

// Tcl runs a pipeline's children with their stderr on a temporary file it
// deletes at once and keeps open to read back; Python's subprocess with a
// TemporaryFile gives the child it as stdout: a deleted file open in two
// processes, made again once, with its bytes and offset, for both.
test("tclsh talking to `cat -n` through open | (cat's stderr a deleted file tclsh holds too), checkpointed mid-talk: an uninterrupted run's output", async () => {
  const tclsh = need("tclsh", "tcl");
  writeFileSync(join(dir, "talk.tcl"), [
    'set f [open "|cat -n" r+]', "fconfigure $f -buffering line",
    'for {set i 0} {$i < 20} {incr i} { puts $f "tcl $i [expr {$i * $i}]"; gets $f line; puts $line; flush stdout; after 60 }',
    "close $f", "puts done",
  ].join("\n"));
  const r = await acrossRestart([tclsh, "../talk.tcl"], "ckpt checkpoint", (run) => lines(run.stdout) >= 3);
  expect(r.stdout).toBe(r.reference);
  expect(r.stdout).toEndWith("done\n");
}, 60000);

test("python3's subprocess writing into a TemporaryFile, checkpointed while the child writes: each round reads back every line", async () => {
  const program = [
    "import subprocess, tempfile",
    "for r in range(4):",
    "    with tempfile.TemporaryFile() as f:",
    "        subprocess.run(['/usr/bin/perl', '-e', '$|=1; for (0..7) { print \"x$_\\n\"; select(undef,undef,undef,0.08) }'], stdout=f, check=True)",
    "        f.seek(0); print('round', r, f.read().decode().split(), flush=True)",
    "print('done')",
  ].join("\n");
  const r = await acrossRestart([need("python3", "python3"), "-c", program], "kill -USR2",
    (run) => lines(run.stdout) >= 1 && descendants(run.pid).some((p) => p.comm === "perl"));
  expect(r.stdout).toBe(r.reference);
  expect(r.stdout).toMatch(/^(round \d \['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'\]\n){4}done\n$/);
}, 60000);

// Its counterpart with a description of its own: a child that opens the
// file anew through /proc instead of inheriting the descriptor. The file is
// made once and the child's open made again on it (c/kinds/fd_unlinked.c,
// reopens), so the parent reads every byte the child wrote.
test("a child reopening its parent's TemporaryFile through /proc (a second open, not a dup), checkpointed while it writes: the parent reads back every byte", async () => {
  const program = [
    "import os, tempfile, time", "f = tempfile.TemporaryFile(); fd = f.fileno()", "pid = os.fork()",
    "if pid == 0:", "    g = open('/proc/self/fd/%d' % fd, 'r+b', buffering=0); os.close(fd)",
    "    for i in range(40): g.write(b'x'); time.sleep(0.05)", "    os._exit(0)",
    "time.sleep(0.5)", "print('ready', flush=True)", "os.waitpid(pid, 0); print('size', os.fstat(fd).st_size)",
  ].join("\n");
  const r = await acrossRestart([need("python3", "python3"), "-c", program], "ckpt checkpoint", (run) => run.stdout.includes("ready"));
  expect(r.stdout).toBe("ready\nsize 40\n");
  expect(r.stdout).toBe(r.reference);
}, 60000);
