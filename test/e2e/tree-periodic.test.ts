// Periodic checkpoints of a process tree (issues #14, #16): --interval
// checkpoints the tree in the background, each member writing an image
// incremental against its own previous one; --keep N keeps N root images,
// each with its member files, and whatever a kept image reads from. A
// SIGKILL of the whole tree loses nothing before the last commit; a
// member's chain with a missing or altered link is refused, naming the
// member and the file, before anything runs; a period that fails is said
// once and the tree runs on.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, descendants, eachTestInTempDir, fixture, type Running, runToEnd, until } from "./harness.ts";
import { commits, writersOf } from "./periodic.ts";
import { CKPT_EXIT_RESTART_REFUSED } from "../../src/protocol/protocol.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const LINES = 60; // per process, one each 100 ms
const NAMES = ["parent", "child0", "child1"];
const MEMBER_FILE = /^k\.dat\.[0-9a-f]{16}\.\d+$/;
const ROOT_IMAGE = /^k\.dat(\.\d+)?$/;

function start(args: string[], hold = 0, forkAfter = 0): Running {
  const r = ckpt([...args, "--image", "k.dat", fixture("tree-counters"), String(LINES), String(hold), String(forkAfter)], { cwd: dir });
  running.push(r);
  return r;
}

/** `pid` and every process below it. */
const treeOf = (pid: number): number[] => [pid, ...descendants(pid)];

/** Runs with `args` until `count` commits, then SIGKILLs the whole tree, `delay` ms later; waits for a writer still at work. */
async function killedAfter(args: string[], count: number, delay = 0, hold = 0): Promise<Running> {
  const r = start(args, hold);
  await commits(join(dir, "k.dat"), count);
  await Bun.sleep(delay);
  for (const pid of treeOf(r.pid)) process.kill(pid, "SIGKILL");
  await r.done;
  await until(() => writersOf(fixture("tree-counters")).length === 0, () => "a writer still at work after the SIGKILL to finish");
  return r;
}

const info = (name: string) => {
  const r = Bun.spawnSync([CKPT, "info", "--json", name], { cwd: dir });
  expect({ name, code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ name, code: 0, stderr: "" });
  return JSON.parse(r.stdout.toString());
};
const imageId = (name: string): string => info(name).incremental.imageId;
const chainIds = (name: string): string[] => info(name).incremental.chain.map((l: { imageId: string }) => l.imageId);
const memberFilesOf = (root: string): { pid: number; file: string }[] =>
  info(root).tree.processes.slice(1).map((p: { pid: number; image: { file: string } }) => ({ pid: p.pid, file: p.image.file }));

/** Each process's own lines ("NAME n"), as numbers. */
function counts(out: string, name: string): number[] {
  return out.split("\n").filter((l) => l.startsWith(`${name} `)).map((l) => Number(l.slice(name.length + 1)));
}

/**
 * A restart's output against the first run's: each process goes on counting
 * from a number the first run had reached (nothing lost), without a gap, to
 * the end, and every check from inside passes. Returns where each resumed.
 */
function expectContinues(first: string, rest: { code: number; stdout: string; stderr: string }, why: string): number[] {
  expect({ why, code: rest.code, stderr: rest.stderr }).toEqual({ why, code: 0, stderr: "" });
  expect({ why, fails: rest.stdout.split("\n").filter((l) => l.startsWith("FAIL")) }).toEqual({ why, fails: [] });
  expect(rest.stdout.split("\n").filter((l) => l.startsWith("PASS"))).toHaveLength(4);
  return NAMES.map((name) => {
    const before = counts(first, name), after = counts(rest.stdout, name);
    expect({ why, name, before }).toEqual({ why, name, before: before.map((_, i) => i + 1) });
    const from = after[0]!;
    expect({ why, name, after }).toEqual({ why, name, after: Array.from({ length: LINES - from + 1 }, (_, i) => from + i) });
    expect({ why, name, resumedWithinReach: from >= 1 && from <= before.length + 1 }).toEqual({ why, name, resumedWithinReach: true });
    return from;
  });
}

test("--interval 1s --keep 2 on a tree: two root images (and what they read from) with exactly their member files; after a SIGKILL of the whole tree, both restart", async () => {
  const delay = Math.floor(Math.random() * 1000);
  const first = await killedAfter(["--interval", "1s", "--keep", "2"], 4, delay);
  expect(first.stderr).toBe(""); // quiet when it works

  // The two newest root images, then only older ones a kept image reads from.
  const names = readdirSync(dir);
  const roots = names.filter((n) => ROOT_IMAGE.test(n)).sort((a, b) => Number(a.slice(6) || 0) - Number(b.slice(6) || 0));
  expect(roots.slice(0, 2)).toEqual(["k.dat", "k.dat.1"]);
  const readFromByRoots = new Set(roots.slice(0, 2).flatMap(chainIds));
  for (const older of roots.slice(2)) expect({ older, readFrom: readFromByRoots.has(imageId(older)) }).toEqual({ older, readFrom: true });
  // Member files: every kept root's, and the older ones theirs read from; nothing else.
  const named = roots.flatMap(memberFilesOf).map((m) => m.file);
  const readFromByMembers = new Set(named.flatMap(chainIds));
  const members = names.filter((n) => MEMBER_FILE.test(n));
  for (const m of members) expect({ m, kept: named.includes(m) || readFromByMembers.has(imageId(m)) }).toEqual({ m, kept: true });
  for (const m of named) expect({ m, present: members.includes(m) }).toEqual({ m, present: true });
  expect(names.filter((n) => !ROOT_IMAGE.test(n) && !MEMBER_FILE.test(n))).toEqual([]);

  // ckpt list: one line per root image, its member files in it, none alone.
  const list = await runToEnd([CKPT, "list"], { cwd: dir });
  expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" });
  const rows = list.stdout.trimEnd().split("\n").slice(1);
  expect(rows.map((r) => r.split(/ +/)[0]).sort()).toEqual([...roots].sort());
  for (const row of rows) expect(row).toMatch(/tree-counters 60 0 0 \(3 processes\)$/);

  const why = `killed ${delay} ms after the fourth commit`;
  const newer = expectContinues(first.stdout, await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir }), `${why}, k.dat`);
  const older = expectContinues(first.stdout, await runToEnd([CKPT, "restart", "k.dat.1"], { cwd: dir }), `${why}, k.dat.1`);
  expect(older[0]!).toBeLessThan(newer[0]!); // k.dat.1 is the one before
}, 90000);

test("a member's images after its first are incremental, far smaller than its first for a big heap that hardly changes, and restart with that heap whole", async () => {
  const first = await killedAfter(["--interval", "1s"], 3);
  const root = info("k.dat");
  expect(root.incremental.chain.length).toBeGreaterThan(0); // the root's own image too
  const files = readdirSync(dir).filter((n) => MEMBER_FILE.test(n));
  for (const { pid, file } of memberFilesOf("k.dat")) {
    const mine = info(file);
    expect({ pid, tracking: mine.incremental.tracking, incremental: mine.incremental.chain.length > 0 }).toEqual({
      pid, tracking: "write-protect", incremental: true,
    });
    // Its chain's first image: the same process's, whole.
    const full = files.find((f) => f.endsWith(`.${pid}`) && imageId(f) === mine.incremental.chain.at(-1).imageId)!;
    expect({ pid, full, chain: chainIds(full) }).toEqual({ pid, full, chain: [] });
    const sizes = { incremental: statSync(join(dir, file)).size, full: statSync(join(dir, full)).size };
    expect({ pid, sizes, quarter: sizes.incremental * 4 < sizes.full }).toEqual({ pid, sizes, quarter: true });
  }
  // --verify reads every stored byte, each member's from its own older files.
  expect(await runToEnd([CKPT, "info", "--verify", "k.dat"], { cwd: dir })).toMatchObject({ code: 0, stderr: "" });
  expectContinues(first.stdout, await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir }), "the newest");
}, 90000);

test("a member's chain with a missing middle file, or an altered one, is refused in one line naming the member and the file, before anything runs", async () => {
  await killedAfter(["--interval", "1s"], 4);
  const { pid, file } = memberFilesOf("k.dat")[0]!;
  const chain = info(file).incremental.chain as { imageId: string; size: number }[];
  expect(chain.length).toBeGreaterThanOrEqual(2); // the parent is a middle link
  const middle = readdirSync(dir).find((f) => MEMBER_FILE.test(f) && f.endsWith(`.${pid}`) && imageId(f) === chain[0]!.imageId)!;
  const head = `ckpt: cannot restart ${join(dir, "k.dat")}: member image ${file} of pid ${pid}: the chain of incremental images is broken: `;

  renameSync(join(dir, middle), join(dir, "aside"));
  const missing = await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir });
  expect(missing).toEqual({
    code: CKPT_EXIT_RESTART_REFUSED, stdout: "",
    stderr: `${head}older image 1 of ${chain.length} it reads from (${chain[0]!.size} bytes) is missing: no member file k.dat.<tree id>.${pid} beside it holds it; restart an older full image, or keep the chain together\n`,
  });
  renameSync(join(dir, "aside"), join(dir, middle));

  const bytes = readFileSync(join(dir, middle));
  bytes[200]! ^= 1; // in its header: its checksum no longer holds
  writeFileSync(join(dir, middle), bytes);
  const altered = await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir });
  expect(altered).toEqual({
    code: CKPT_EXIT_RESTART_REFUSED, stdout: "",
    stderr: `${head}${join(dir, middle)}, older image 1 of ${chain.length} it reads from (${chain[0]!.size} bytes), was altered or replaced\n`,
  });
}, 90000);

test("a periodic checkpoint of the tree that fails (a child holds a netlink socket) is said once, the tree runs on, and a later period commits", async () => {
  const hold = 20; // child0's line that closes it: 2 s, several periods
  const first = await killedAfter(["--interval", "300ms"], 1, 0, hold);
  expect(first.stderr).toMatch(
    /^ckpt: periodic checkpoint failed: process \d+ \(tree-counters\): fd \d+ \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\)[^\n]*; the program continues, and each period tries again \(silently, while it fails the same way\)\n$/,
  );
  const resumed = expectContinues(first.stdout, await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir }), "the first commit");
  expect(resumed[1]!).toBeGreaterThan(hold); // no image was made while the socket was open
}, 90000);

test("children forked after periods of the parent alone start tracking of their own: the parent's later images, and theirs, restart with every heap whole", async () => {
  const forkAfter = 12; // 1.2 s of the parent alone, its images incremental after the first
  const first = start(["--interval", "500ms"], 0, forkAfter);
  await first.waitFor((o) => o.includes("child0 1\n"), 30000);
  await commits(join(dir, "k.dat"), 3); // the second after the fork is surely of the tree (the chain stays short of its tenth)
  for (const pid of treeOf(first.pid)) process.kill(pid, "SIGKILL");
  await first.done;
  await until(() => writersOf(fixture("tree-counters")).length === 0, () => "a writer still at work after the SIGKILL to finish");
  const root = info("k.dat");
  expect({ processes: root.tree?.processes.length, incremental: root.incremental.chain.length > 0 }).toEqual({ processes: 3, incremental: true });
  expect(first.stderr).toBe("");
  const resumed = expectContinues(first.stdout, await runToEnd([CKPT, "restart", "k.dat"], { cwd: dir }), "the newest");
  expect(resumed[0]!).toBeGreaterThan(forkAfter); // an image of the tree, not of the parent alone
}, 90000);
