// An incremental image is written beside the running program by a process
// sharing its memory, not by a forked copy (c/lib/shared_writer.c): the
// pause copies the pages the image stores and the writer reads nothing of
// the program's but the pieces it checks against the helper's sums. Seen
// here from the system calls under strace (the writer's clone has
// CLONE_VM alone), from a writer killed before its image is durable (the
// program runs on, the scratch it left is unmapped before the next capture,
// which is full),
// and from a program killed while its image is written (the writer holds
// the memory and finishes). Each restart checks every page from inside. A
// program whose images are forked keeps no warm copy area resident.
// Skipped, with the reason printed, where strace is missing or cannot
// attach.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, fixture, type Running, runToEnd, strace, until } from "./harness.ts";
import { inode, writersOf } from "./periodic.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const exe = fixture("interval-threads");
const written = (run: Running) => run.stderr.split("checkpoint written").length - 1;

async function launch(): Promise<Running> {
  const run = ckpt(["--continue", exe], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes("ready"));
  return run;
}

/** Asks for a checkpoint and waits for its line: the first is full, the second turns tracking on. */
async function checkpoint(run: Running, lines: number): Promise<void> {
  process.kill(run.pid, "SIGUSR2");
  await until(() => written(run) >= lines, () => `checkpoint line ${lines}: ${run.stderr}`);
}

/** Anonymous mappings of at least 256 MiB: the program's own are 2 MiB each, scratch is far larger. */
function hugeMappings(pid: number): string[] {
  return readFileSync(`/proc/${pid}/maps`, "latin1").split("\n").filter((line) => {
    const m = line.match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ 0 *$/);
    return m !== null && parseInt(m[2]!, 16) - parseInt(m[1]!, 16) >= 256 * 2 ** 20;
  });
}

/**
 * Two full checkpoints, then an incremental one whose writer is held at its
 * first fsync for `us` microseconds (the program makes none); null where
 * strace cannot do it.
 */
async function incrementalHeldAtFsync(us: number): Promise<{ run: Running; traced: Running; imageBefore: number } | null> {
  const run = await launch();
  await checkpoint(run, 1);
  await checkpoint(run, 2);
  const s = await strace(dir, run.pid, ["-e", "trace=fsync", "-e", `inject=fsync:delay_enter=${us}`]);
  if (!s) return null;
  const imageBefore = inode(join(dir, "myckpt.dat"));
  process.kill(run.pid, "SIGUSR2");
  await until(() => readFileSync(s.log, "latin1").includes("fsync("), () => readFileSync(s.log, "latin1"));
  return { run, traced: s.proc, imageBefore };
}

async function expectEveryPageBack(): Promise<void> {
  await until(() => writersOf(exe).length === 0, () => "the last writer to finish");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const checks = rest.stdout.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  expect({ fails: checks.filter((l) => l.startsWith("FAIL")), count: checks.length }).toEqual({ fails: [], count: 3 });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}

test("the incremental images' writers share the program's memory (clone with CLONE_VM alone), the full ones' are copies", async () => {
  const run = await launch();
  const s = await strace(dir, run.pid, ["-e", "trace=clone,clone3"]);
  if (!s) return;
  for (let n = 1; n <= 4; n++) await checkpoint(run, n);
  s.proc.proc.kill("SIGINT");
  await s.proc.done;
  const log = readFileSync(s.log, "latin1");
  const shared = log.match(/clone\(child_stack=0x[0-9a-f]+, flags=CLONE_VM\)/g) ?? [];
  const copies = log.match(/clone\(child_stack=NULL, flags=0\)/g) ?? [];
  const incremental = run.stderr.match(/incremental: pages written since the last one/g) ?? [];
  expect({ shared: shared.length, copies: copies.length, incremental: incremental.length }).toEqual({ shared: 2, copies: 2, incremental: 2 });
  run.proc.kill("SIGKILL");
  await run.done;
  await expectEveryPageBack();
}, 60000);

test("a writer beside the program killed before its image is durable: the program runs on, the scratch it left is gone before the next capture, which is full and says the writer was killed", async () => {
  const held = await incrementalHeldAtFsync(3000000);
  if (!held) return;
  const { run, traced } = held;
  const writers = writersOf(exe);
  expect(writers.length).toBe(1);
  process.kill(writers[0]!, "SIGKILL");
  await until(() => writersOf(exe).length === 0, () => "the killed writer to go");
  traced.proc.kill("SIGINT");
  await traced.done;
  expect(hugeMappings(run.pid).length).toBe(1); // its scratch, left to the program
  await checkpoint(run, 3);
  expect({ huge: hugeMappings(run.pid), written: written(run) }).toEqual({ huge: [], written: 3 });
  // The killed writer said nothing; the program's next checkpoint says it, once.
  const killed = `checkpoint failed: its writer (pid ${writers[0]}) was killed before the image was complete`;
  expect(run.stderr.split(killed).length - 1).toBe(1);
  expect(run.stderr.split("checkpoint written").at(-1)).toContain("every page");
  run.proc.kill("SIGKILL");
  await run.done;
  await expectEveryPageBack();
}, 60000);

test("the program killed while its incremental image is written: the writer keeps the memory and the image restores", async () => {
  const held = await incrementalHeldAtFsync(1500000);
  if (!held) return;
  const { run, traced, imageBefore } = held;
  run.proc.kill("SIGKILL");
  await run.done;
  await until(() => inode(join(dir, "myckpt.dat")) !== imageBefore, () => "the delayed writer's commit");
  traced.proc.kill("SIGINT");
  await traced.done;
  expect(run.stderr.split("checkpoint written").at(-1)).toContain("incremental");
  await expectEveryPageBack();
}, 60000);

/** Resident kB of each 64 MiB private anonymous mapping: the warm copy area is one (c/lib/warm_bounce.c). */
function warmAreaRss(pid: number): number[] {
  const entries = readFileSync(`/proc/${pid}/smaps`, "latin1").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return entries
    .filter((e) => /^\S+ rw-p 00000000 00:00 0 /.test(e) && /\nSize:\s+65536 kB/.test(e))
    .map((e) => Number(e.match(/\nRss:\s+(\d+) kB/)?.[1] ?? NaN));
}

const isRoot = process.getuid?.() === 0; // a non-dumpable program's /proc/PID/smaps is root's
if (!isRoot) console.warn("shared-writer.test.ts: the non-dumpable case reads the program's smaps, which needs root; skipped");
test.skipIf(!isRoot)("a program that is not dumpable has its incremental images forked, and keeps no warm copy area resident for them", async () => {
  const run = ckpt(["--continue", fixture("undumpable"), "after-checkpoint", "400"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes("tick 1"));
  await checkpoint(run, 1);
  await run.waitFor((o) => o.includes("undumpable"));
  for (let n = 2; n <= 5; n++) await checkpoint(run, n);
  expect(run.stderr).toContain("incremental");
  // The first incremental pause finds it cannot copy (the program is not
  // dumpable) and gives the helper's warmed pages back; later helpers warm none.
  expect(warmAreaRss(run.pid).filter((kb) => kb > 0)).toEqual([]);
}, 60000);
