// The restore stub is the one authority on whether an image is acceptable
// (`ckpt-restore --check` / `--verify`, asked by `ckpt list` and `ckpt info
// --verify`); the TypeScript reader behind `ckpt info` must refuse exactly
// the images it refuses. Real images, mutated from a fixed seed (whole-file
// mutations, and table fields with the checksums recomputed so every
// record check is reached), go to both at both depths; each disagreement
// is printed with its mutation and both answers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_FD_DELETED, CKPT_FD_EVENTFD, CKPT_FD_MEMFD, CKPT_FD_TIMERFD, CKPT_FD_INET_SOCKET, CKPT_FD_UNIX_SOCKET, EPOLL_WATCH, EXTENT, FD, HEADER, INOTIFY_WATCH, MEMBER } from "../../src/image/format.ts";
import { ImageError, readImage, verifyData } from "../../src/image/read.ts";
import { type CheckDepth, imageRefusal } from "../../src/image/verdict.ts";
import { type Mutation, mutate, mutateTables, reseal, rng } from "../fuzz/mutate.ts";
import { CKPT, ckpt, demo, EXIT_CHECKPOINTED, fixture, lines, ROOT, runToEnd, tempDir } from "./harness.ts";

const STUB = join(ROOT, "build", "ckpt-restore");
let dir: string;
let cleanup: () => void;
const images: Uint8Array[] = [];
/** Each real image by the name it was taken under. */
const imageNamed = new Map<string, Uint8Array>();

async function realImage(name: string, program: string[], ready: (out: string) => boolean) {
  const cwd = join(dir, name);
  mkdirSync(cwd);
  const run = ckpt(program, { cwd });
  await run.waitFor(ready);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const image = new Uint8Array(readFileSync(join(cwd, "myckpt.dat")));
  images.push(image);
  imageNamed.set(name, image);
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("ckpt-agree-"));
  // Threads; a pipe with unread bytes and open files; file locks; POSIX
  // timers; pending signals; eventfds, a signalfd, timerfds, epoll and inotify watches; a
  // compressed heap: every table has records to break.
  await realImage("threads", [demo("threads-count"), "4", "1000"], (o) => lines(o) >= 2);
  await realImage("pipe", [fixture("pipe-self"), join(dir, "pipe.log")], (o) => lines(o) >= 4);
  await realImage("locks", [fixture("file-locks"), join(dir, "locks")], (o) => lines(o) >= 3);
  await realImage("timers", [fixture("posix-timers")], (o) => o.includes("ready\n"));
  await realImage("signals", [fixture("pending-signals"), join(dir, "go")], (o) => o.includes("ready\n"));
  await realImage("event-fds", [fixture("event-fds")], (o) => o.includes("ready\n"));
  await realImage("epoll", [fixture("epoll-loop")], (o) => o.includes("ready\n"));
  await realImage("inotify", [fixture("inotify-watches")], (o) => o.includes("ready\n"));
  await realImage("unix-sockets", [fixture("unix-sockets"), join(dir, "unix-sockets")], (o) => o.includes("ready\n"));
  await realImage("inet-sockets", [fixture("inet-sockets")], (o) => o.includes("ready\n"));
  await realImage("deleted-twice", [fixture("deleted-twice"), join(dir, "deleted-twice")], (o) => o.includes("ready\n"));
  // Compressed (format 5): blocks of zeros, LZ4 blocks, and a stored length per extent to break.
  await realImage("compressed", ["--compress", fixture("mixed-heap"), "4"], (o) => o.includes("ready\n"));
}, 60000);
afterAll(() => cleanup());

/** The reader's answer: undefined if it accepts, else its reason. */
function readerRefusal(path: string, depth: CheckDepth): string | undefined {
  try {
    const image = readImage(path);
    if (depth === "data") verifyData(image);
    return undefined;
  } catch (e) {
    if (e instanceof ImageError) return e.message;
    throw e;
  }
}

/** Sets each 32-bit word of an image to each of some values in turn
 * (checksums resealed) and collects where the reader and the stub differ. */
class WordVerdicts {
  disagreements: string[] = [];
  count = { accepted: 0, refused: 0 };
  constructor(private readonly path: string) {}

  judge(original: Uint8Array, words: number[], values: (at: number) => number[]) {
    for (const at of words)
      for (const value of values(at)) {
        const img = original.slice();
        new DataView(img.buffer).setUint32(at, value >>> 0, true);
        reseal(img);
        writeFileSync(this.path, img, { mode: 0o600 });
        const reader = readerRefusal(this.path, "tables");
        const stub = imageRefusal(STUB, this.path, "tables");
        if ((reader === undefined) !== (stub === undefined))
          this.disagreements.push(`word at ${at} = ${value}: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
        this.count[stub === undefined ? "accepted" : "refused"]++;
      }
  }
}

test("the reader and the restore stub accept and refuse the same mutated images", () => {
  const r = rng(12);
  const path = join(dir, "m.dat");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  const judge = (m: Mutation, depth: CheckDepth) => {
    const reader = readerRefusal(path, depth);
    const stub = imageRefusal(STUB, path, depth);
    if ((reader === undefined) !== (stub === undefined))
      disagreements.push(`${m.what} [${depth}]: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
    count[stub === undefined ? "accepted" : "refused"]++;
  };
  for (let i = 0; i < 400; i++) {
    const original = images[i % images.length]!;
    const m = i % 2 ? mutateTables(original, r) : mutate(original, r, i % 4 === 0);
    writeFileSync(path, m.image, { mode: 0o600 });
    judge(m, "tables");
    judge(m, "data");
  }
  for (const d of disagreements) console.log(d);
  expect(disagreements).toEqual([]);
  // Neither answer is a constant: both kinds of image were met.
  expect(count.accepted).toBeGreaterThan(50);
  expect(count.refused).toBeGreaterThan(300);
}, 60000);

test("every word of the epoll watch table, and its place in the header, set to edge values: both accept and refuse the same", () => {
  const original = imageNamed.get("epoll")!;
  const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const tablesAt = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true));
  const nwatches = v.getUint32(HEADER.fields.nwatches.off, true);
  const watchesAt = tablesAt + v.getUint32(HEADER.fields.watches_off.off, true);
  expect(nwatches).toBe(6);
  const verdicts = new WordVerdicts(join(dir, "w.dat"));
  const words = [HEADER.fields.nwatches.off, HEADER.fields.watches_off.off,
    ...Array.from({ length: (nwatches * EPOLL_WATCH.size) / 4 }, (_, i) => watchesAt + i * 4)];
  verdicts.judge(original, words, (at) => [0, 1, 3, 4, 13, 14, 15, 0x80000000, 0xffffffff, v.getUint32(at, true) + 8]);
  const { disagreements, count } = verdicts;
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(50); // events and data take any value
  expect(count.refused).toBeGreaterThan(100);
}, 60000);

test("a compressed image's codec and every DATA extent's length, stored length, offset and checksum at their edges: both agree at both depths", () => {
  const original = imageNamed.get("compressed")!;
  const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
  expect(v.getUint32(HEADER.fields.codec.off, true)).toBe(1);
  const extentsAt = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true)) + Number(v.getBigUint64(HEADER.fields.extents_off.off, true));
  const data = Array.from({ length: v.getUint32(HEADER.fields.nextents.off, true) }, (_, i) => extentsAt + i * EXTENT.size)
    .filter((at) => v.getUint32(at + EXTENT.fields.kind.off, true) === 1);
  const path = join(dir, "z.dat");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  const tryOne = (what: string, change: (w: DataView) => void) => {
    const img = original.slice();
    change(new DataView(img.buffer));
    reseal(img);
    writeFileSync(path, img, { mode: 0o600 });
    for (const depth of ["tables", "data"] as const) {
      const reader = readerRefusal(path, depth);
      const stub = imageRefusal(STUB, path, depth);
      if ((reader === undefined) !== (stub === undefined))
        disagreements.push(`${what} [${depth}]: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
      count[stub === undefined ? "accepted" : "refused"]++;
    }
  };
  for (const codec of [0, 1, 2, 0xffffffff]) tryOne(`codec ${codec}`, (w) => w.setUint32(HEADER.fields.codec.off, codec >>> 0, true));
  for (const d of [0, 1, 2, 3, 0xffffffff]) tryOne(`dumpable ${d}`, (w) => w.setUint32(HEADER.fields.dumpable.off, d >>> 0, true));
  for (const at of data.slice(0, 6)) {
    const stored = v.getBigUint64(at + EXTENT.fields.stored_len.off, true), len = v.getBigUint64(at + EXTENT.fields.len.off, true);
    const off = v.getBigUint64(at + EXTENT.fields.data_offset.off, true);
    for (const value of [0n, 1n, stored - 1n, stored + 1n, len - 1n, len, len + 1n, 0xffffffffffffffffn])
      tryOne(`extent at ${at} stored_len ${value}`, (w) => w.setBigUint64(at + EXTENT.fields.stored_len.off, BigInt.asUintN(64, value), true));
    for (const value of [0n, off + 1n, off - 1n, BigInt(original.length), 0xffffffffffffffffn])
      tryOne(`extent at ${at} data_offset ${value}`, (w) => w.setBigUint64(at + EXTENT.fields.data_offset.off, BigInt.asUintN(64, value), true));
    tryOne(`extent at ${at} crc 0`, (w) => w.setUint32(at + EXTENT.fields.crc.off, 0, true));
    tryOne(`extent at ${at} len doubled`, (w) => w.setBigUint64(at + EXTENT.fields.len.off, len * 2n, true));
  }
  for (const d of disagreements) console.log(d);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(5); // at --check, a checksum is not read
  expect(count.refused).toBeGreaterThan(50);
}, 120000);

test("every word of the inotify watch table, its place in the header and the instances' last wds, set to edge values: both accept and refuse the same", () => {
  const original = imageNamed.get("inotify")!;
  const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const tablesAt = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true));
  const ninotify = v.getUint32(HEADER.fields.ninotify.off, true);
  const watchesAt = tablesAt + v.getUint32(HEADER.fields.inotify_off.off, true);
  const fdsAt = tablesAt + Number(v.getBigUint64(HEADER.fields.fds_off.off, true));
  expect(ninotify).toBe(3);
  const path = join(dir, "i.dat");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  // fds 0-2, then the two instances (3, 4): their `count`, the last wd, low word
  const lastWds = [3, 4].map((i) => fdsAt + i * FD.size + FD.fields.count.off);
  const words = [HEADER.fields.ninotify.off, HEADER.fields.inotify_off.off, ...lastWds,
    ...Array.from({ length: (ninotify * INOTIFY_WATCH.size) / 4 }, (_, i) => watchesAt + i * 4)];
  for (const at of words)
    for (const value of [0, 1, 2, 3, 4, 16, 0x100, 0x1000000, 0x400000, 0x400001, 0x80000000, 0xffffffff, v.getUint32(at, true) + 1, v.getUint32(at, true) + 8]) {
      const img = original.slice();
      new DataView(img.buffer).setUint32(at, value >>> 0, true);
      reseal(img);
      writeFileSync(path, img, { mode: 0o600 });
      const reader = readerRefusal(path, "tables");
      const stub = imageRefusal(STUB, path, "tables");
      if ((reader === undefined) !== (stub === undefined))
        disagreements.push(`word at ${at} = ${value}: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
      count[stub === undefined ? "accepted" : "refused"]++;
    }
  for (const d of disagreements) console.log(d);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(20); // inode, device, other event bits, a path cut after a slash
  expect(count.refused).toBeGreaterThan(100);
}, 60000);

test("a process tree's images: every word of the member table, the tree's header fields and each fd's first holder, set to edge values: both agree", async () => {
  // At the tables depth only: the data depth also reads the member files beside the image (check_only.c), which the reader leaves to ckpt info.
  const cwd = join(dir, "tree");
  mkdirSync(cwd);
  const run = ckpt([fixture("tree-workers"), "1000"], { cwd });
  await run.waitFor((o) => o.includes("round 3:"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const root = new Uint8Array(readFileSync(join(cwd, "myckpt.dat")));
  const memberFile = readdirSync(cwd).find((n) => n.startsWith("myckpt.dat."))!;
  const member = new Uint8Array(readFileSync(join(cwd, memberFile)));
  const verdicts = new WordVerdicts(join(dir, "t.dat"));
  const tryWords = (original: Uint8Array, words: number[]) => {
    const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
    verdicts.judge(original, words, (at) =>
      [0, 1, 2, 3, 0x7f, 0x80000000, 0xffffffff, v.getUint32(at, true) + 1, v.getUint32(at, true) - 1, v.getUint32(at, true) + 8]);
  };
  const { disagreements, count } = verdicts;
  const view = (img: Uint8Array) => new DataView(img.buffer, img.byteOffset, img.byteLength);
  const tablesAt = (img: Uint8Array) => Number(view(img).getBigUint64(HEADER.fields.tables_offset.off, true));
  const nmembers = view(root).getUint32(HEADER.fields.nmembers.off, true);
  expect(nmembers).toBe(2);
  const membersAt = tablesAt(root) + view(root).getUint32(HEADER.fields.members_off.off, true);
  const treeFields = ["pgid", "sid", "tree_root_pid", "tty_pgrp", "nmembers", "members_off"] as const;
  tryWords(root, [...treeFields.map((f) => HEADER.fields[f].off), HEADER.fields.tree_id.off, HEADER.fields.tree_id.off + 4,
    ...Array.from({ length: (nmembers * MEMBER.size) / 4 }, (_, i) => membersAt + i * 4)]);
  const nfds = view(member).getUint32(HEADER.fields.nfds.off, true);
  const fdsAt = tablesAt(member) + Number(view(member).getBigUint64(HEADER.fields.fds_off.off, true));
  tryWords(member, [HEADER.fields.tree_id.off, HEADER.fields.tree_root_pid.off, ...Array.from({ length: nfds }, (_, i) =>
    [fdsAt + i * FD.size + FD.fields.share_pid.off, fdsAt + i * FD.size + FD.fields.share_fd.off]).flat()]);
  for (const d of disagreements) console.log(d);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(50); // comm, sizes and ids at this depth, groups a member leads
  expect(count.refused).toBeGreaterThan(200);
}, 90000);

test("an intact real image is accepted by both, at both depths", () => {
  const path = join(dir, "intact.dat");
  for (const image of images) {
    writeFileSync(path, image, { mode: 0o600 });
    for (const depth of ["tables", "data"] as const)
      expect({ depth, reader: readerRefusal(path, depth), stub: imageRefusal(STUB, path, depth) }).toEqual({ depth, reader: undefined, stub: undefined });
  }
});

test("--check judges the image, not the world: a restart refuses a deleted working directory, --check and ckpt list do not", async () => {
  const cwd = join(dir, "gone");
  mkdirSync(cwd);
  const run = ckpt([demo("threads-count"), "2", "1000"], { cwd });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const path = join(dir, "world.dat");
  writeFileSync(path, readFileSync(join(cwd, "myckpt.dat")), { mode: 0o600 });
  rmSync(cwd, { recursive: true });
  const restart = await runToEnd([CKPT, "restart", path], { cwd: dir });
  expect(restart).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${path}: the working directory ${cwd} no longer exists\n` });
  for (const option of ["--check", "--verify"]) expect(await runToEnd([STUB, option, path], { cwd: dir })).toEqual({ code: 0, stdout: "", stderr: "" });
  expect((await runToEnd([CKPT, "list"], { cwd: dir })).stdout).toMatch(/^world\.dat +\S.* threads-count 2 1000$/m);
}, 30000);

test("--verify reads every stored byte and --check none: a flipped data byte is the restart's refusal for one only", async () => {
  const original = images[0]!;
  const dataOffset = Number(new DataView(original.buffer, original.byteOffset).getBigUint64(HEADER.fields.data_offset.off, true));
  const flipped = original.slice();
  flipped[dataOffset + 100]! ^= 0x10;
  const path = join(dir, "flipped.dat");
  writeFileSync(path, flipped, { mode: 0o600 });
  expect(await runToEnd([STUB, "--check", path], { cwd: dir })).toEqual({ code: 0, stdout: "", stderr: "" });
  const line = `ckpt: cannot restart ${path}: memory contents checksum mismatch (corrupt image)\n`;
  expect(await runToEnd([STUB, "--verify", path], { cwd: dir })).toEqual({ code: 1, stdout: "", stderr: line });
  expect(await runToEnd([CKPT, "restart", path], { cwd: dir })).toEqual({ code: 1, stdout: "", stderr: line });
}, 30000);

/** Each of `fields` of every fd record `pick` chooses, set to each of
 * `values` in turn: where the reader and the stub disagree, and how many
 * images the stub accepted and refused. */
function fieldEdges(name: string, fields: readonly (keyof typeof FD.fields)[], values: bigint[], pick: (kind: number, fd: number) => boolean) {
  const original = imageNamed.get(name)!;
  const v = new DataView(original.buffer, original.byteOffset);
  const fdsAt = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true) + v.getBigUint64(HEADER.fields.fds_off.off, true));
  const nfds = v.getUint32(HEADER.fields.nfds.off, true);
  const path = join(dir, "edge.dat");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  for (let i = 0; i < nfds; i++) {
    const at = fdsAt + i * FD.size;
    const kind = v.getUint32(at + FD.fields.kind.off, true);
    const fd = v.getInt32(at + FD.fields.fd.off, true);
    if (!pick(kind, fd)) continue;
    for (const field of fields)
      for (const value of values) {
        const img = original.slice();
        const w = new DataView(img.buffer);
        const { off, size } = FD.fields[field];
        if (size === 8) w.setBigUint64(at + off, value, true);
        else w.setUint32(at + off, Number(value & 0xffffffffn), true);
        reseal(img);
        writeFileSync(path, img, { mode: 0o600 });
        const reader = readerRefusal(path, "tables");
        const stub = imageRefusal(STUB, path, "tables");
        if ((reader === undefined) !== (stub === undefined))
          disagreements.push(`fd ${fd} ${field} = ${value}: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
        count[stub === undefined ? "accepted" : "refused"]++;
      }
  }
  for (const d of disagreements) console.log(d);
  return { disagreements, count };
}

const EDGES = [0n, 1n, 2n, 7n, 8n, 999_999_999n, 1_000_000_000n, 0x7fffffffffffffffn, 0xfffffffffffffffen, 0xffffffffffffffffn];

test("the event-loop descriptors' own fields at their edges: the reader and the stub agree on each", () => {
  const fields = ["kind", "count", "sigmask", "clock", "kind_flags", "interval_sec", "interval_nsec", "remaining_sec", "remaining_nsec"] as const;
  // fd 5: a dup of fd 4, checked the same
  const { disagreements, count } = fieldEdges("event-fds", fields, EDGES, (kind, fd) => kind >= CKPT_FD_EVENTFD && kind <= CKPT_FD_TIMERFD && fd !== 5);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(50);
  expect(count.refused).toBeGreaterThan(50);
}, 120000);

test("a Unix socket's own fields at their edges: the reader and the stub agree on each", () => {
  const fields = ["sock_type", "sock_state", "backlog", "shutdown", "sock_flags", "peek_off", "rcvtimeo_usec", "sndtimeo_usec", "peer_str", "sock_family", "pipe_len"] as const;
  const { disagreements, count } = fieldEdges("unix-sockets", fields, EDGES, (kind) => kind === CKPT_FD_UNIX_SOCKET);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(50);
  expect(count.refused).toBeGreaterThan(50);
}, 120000);

test("a TCP or UDP socket's own fields at their edges: the reader and the stub agree on each", () => {
  const fields = ["sock_type", "sock_state", "backlog", "shutdown", "sock_flags", "peek_off", "rcvtimeo_usec", "peer_str", "path_str", "sock_family", "pipe_len"] as const;
  const { disagreements, count } = fieldEdges("inet-sockets", fields, EDGES, (kind) => kind === CKPT_FD_INET_SOCKET);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(50);
  expect(count.refused).toBeGreaterThan(50);
}, 120000);

test("a deleted file's and a memfd's second opens (reopens, format 8) at their edges: the reader and the stub agree on each", () => {
  const fields = ["reopens", "shares_with", "content_len", "share_pid", "share_fd"] as const;
  const values = [0n, 1n, 3n, 4n, 5n, 6n, 7n, 8n, 0xffffffffn];
  const { disagreements, count } = fieldEdges("deleted-twice", fields, values, (kind) => kind === CKPT_FD_DELETED || kind === CKPT_FD_MEMFD);
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(20);
  expect(count.refused).toBeGreaterThan(50);
}, 120000);
