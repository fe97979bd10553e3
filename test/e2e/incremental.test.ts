// Incremental images (c/lib/dirty_tracking.c, c/lib/incremental.c,
// c/stub/chain.c): a periodic checkpoint after the first stores only the
// pages written since the one before and reads the rest from the older
// images, named by content. The program checks its memory from inside
// after the restart; a chain with a missing or altered link is refused
// before anything is torn down, naming the link; every CKPT_CHAIN_MAX-th
// image is full again.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, fixture, ROOT, type Running, runToEnd, until } from "./harness.ts";
import { chainFacts, fileWithImageId, growChain, inode, writersOf } from "./periodic.ts";
import { CKPT_CHAIN_MAX, CKPT_CODEC_LZ4, CKPT_COMPRESS_BLOCK, CKPT_DATA_EXTENT_MAX, CKPT_EXTENT_DATA, CKPT_EXTENT_HOLE, CKPT_EXTENT_PARENT, EXTENT, HEADER, LINK } from "../../src/image/format.ts";
import { ImageError, readImage } from "../../src/image/read.ts";
import type { Extent } from "../../src/image/types.ts";
import { imageRefusal } from "../../src/image/verdict.ts";
import { reseal } from "../fuzz/mutate.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const textLines = (out: string) => out.split("\n").slice(0, -1);

/** The rewriting fixture's restart: every check it makes from inside passes, and it ends cleanly. */
function expectRewritesRestored(rest: { stdout: string; stderr: string; code: number | null }) {
  const checks = textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l));
  expect(checks).toEqual([
    "PASS every page of the rewritten region holds its latest round, or zeros where dropped",
    "PASS the region mapped, grown and moved since holds what was written into it",
    "PASS the threads that came and went left their sums",
    "PASS the stretch rewritten whole holds its latest round",
  ]);
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}

const chainOf = (path: string) => chainFacts(dir, path);
const chainOfAtLeast = (args: string[], links: number, exe: string) => growChain(dir, running, args, links, exe);
const fileWithId = (id: string) => fileWithImageId(dir, id);

test("mmap, munmap, mremap, MADV_DONTNEED, kernel writes and short-lived threads between periods: every page checks out after the restart", async () => {
  const exe = fixture("incremental-memory");
  const facts = await chainOfAtLeast([exe], 3, exe);
  expect(facts.tracking).toBe("write-protect");
  // Files kept: the image and every older one it reads from, found by content.
  for (const link of facts.chain) fileWithId(link.imageId);
  // The 3 MiB stretch, stored again whole, is cut as a full image's data is
  // (a lazy restart waits for a whole extent at a first touch).
  const stored = readImage(join(dir, "myckpt.dat")).regions.flatMap((r) => r.extents).filter((e) => e.kind === CKPT_EXTENT_DATA);
  expect(Math.max(...stored.map((e) => e.len))).toBe(CKPT_DATA_EXTENT_MAX);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expectRewritesRestored(rest);
}, 60000);

// The older image keeps those zeros as a HOLE, or compressed as an empty block.
test.each([[[]], [["--compress"]]])("a heap of zeros written page by page, a page every few hundred microseconds (options %p): every period commits, though the program writes pages it kept as zeros right after each stop, and every page checks out after the restart", async (options: string[]) => {
  const exe = fixture("zero-frontier");
  const facts = await chainOfAtLeast([...options, exe], 4, exe);
  expect(facts.stderr).toBe("");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l))).toEqual([
    "PASS every page behind the frontier holds its pattern, every page ahead of it zeros",
  ]);
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

test("pages a program never touched stay HOLEs in every image of a chain, tracking or not, and read as zeros after the restart", async () => {
  const exe = fixture("sparse-touch");
  const facts = await chainOfAtLeast([exe], 3, exe);
  expect(facts.stderr).toBe("");
  const heap = BigInt(facts.stdout.match(/^heap (0x[0-9a-f]+)$/m)![1]!);
  for (const file of ["myckpt.dat", ...facts.chain.map((link) => fileWithId(link.imageId))]) {
    const region = readImage(join(dir, file)).regions.find((r) => r.start <= heap && heap < r.end)!;
    const pages: Record<string, number> = {};
    for (const e of region.extents) {
      const kind = e.kind === CKPT_EXTENT_HOLE ? "hole" : e.kind === CKPT_EXTENT_DATA || e.kind === CKPT_EXTENT_PARENT ? "stored" : String(e.kind);
      pages[kind] = (pages[kind] ?? 0) + e.len / 4096;
    }
    // Its own region (MADV_NOHUGEPAGE keeps it apart): 256 pages touched of 4096.
    expect({ file, start: region.start, pages }).toEqual({ file, start: heap, pages: { stored: 256, hole: 4096 - 256 } });
  }
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l))).toEqual(["PASS every touched page holds its pattern, every other page zeros"]);
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

test("80 MiB made MADV_DONTFORK once tracked: the pages copied ahead in the pause are given up, the images forked, and every page checks out after the restart", async () => {
  // Its pages read as unchanged until the regions' flags are known, so the
  // pause copies the rest ahead for a writer beside the program; the flags
  // make them stored again, more than that writer may copy: forked.
  const exe = fixture("incremental-memory");
  const r = ckpt(["--continue", exe, "dontfork"], { cwd: dir });
  running.push(r);
  await r.waitFor((o) => o.includes("ready"));
  const written = () => r.stderr.split("checkpoint written").length - 1;
  const checkpoint = async (n: number) => {
    process.kill(r.pid, "SIGUSR2");
    await until(() => written() >= n, () => `checkpoint ${n}: ${r.stderr}`);
  };
  await checkpoint(1);
  await checkpoint(2); // tracking on
  process.kill(r.pid, "SIGUSR1");
  await r.waitFor((o) => o.includes("dontfork set"));
  for (let n = 3; n <= 5; n++) await checkpoint(n);
  const lines = r.stderr.split("\n").filter((l) => l.includes("checkpoint written"));
  expect(lines.slice(2).map((l) => /incremental/.test(l))).toEqual([true, true, true]);
  r.proc.kill("SIGKILL");
  await r.done;
  await until(() => writersOf(exe).length === 0, () => "the last writer to finish");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const checks = textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l));
  expect(checks.at(-1)).toBe("PASS the region made MADV_DONTFORK, written once, holds its bytes");
  expectRewritesRestored({ ...rest, stdout: rest.stdout.replace(/^PASS the region made MADV_DONTFORK.*\n/m, "") });
}, 60000);

test("a private file mapping read, written and dropped between periods: only its written pages are stored, in every image of the chain, and every page checks out after the restart", async () => {
  const exe = fixture("incremental-file-private");
  const data = join(dir, "mapped.bin");
  const facts = await chainOfAtLeast([exe, data], 3, exe);
  expect(facts.tracking).toBe("write-protect");
  // Pages 0-127 are the only ones ever written: what the file holds of the
  // other 3968 stays the file's, however many times tracking protected it.
  const info = JSON.parse(Bun.spawnSync([CKPT, "info", "--json", "myckpt.dat"], { cwd: dir }).stdout.toString());
  const mapping = info.regions.filter((r: { name: string }) => r.name === data);
  const stored = mapping.reduce((n: number, r: { stored: { data: number; older: number } }) => n + r.stored.data + r.stored.older, 0);
  expect(mapping.length).toBeGreaterThan(0);
  expect(stored).toBeLessThanOrEqual(128 * 4096);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const checks = textLines(rest.stdout).filter((l) => /^(PASS|FAIL) /.test(l));
  expect({ checks, code: rest.code, stderr: rest.stderr }).toEqual({
    checks: ["PASS every page of the private file mapping holds its latest write, or the file's bytes"],
    code: 0,
    stderr: "",
  });
}, 60000);

/** A chain of the ticker's (with `options`): the newest image is smaller than the full one, and restarts to the output a run straight through gives. */
async function expectSmallerImageSameOutput(options: string[]) {
  const ticker = demo("ticker");
  const reference = textLines((await runToEnd([ticker, "400"], { cwd: dir })).stdout);
  const facts = await chainOfAtLeast([...options, ticker, "400"], 2, ticker);
  const full = facts.chain[facts.chain.length - 1]!;
  expect(statSync(join(dir, "myckpt.dat")).size).toBeLessThan(full.size);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  const out = textLines(rest.stdout);
  expect(out).toEqual(reference.slice(reference.length - out.length));
}

test("an incremental image stores far less than the full one before it, and restarts to the same output", async () => {
  await expectSmallerImageSameOutput([]);
}, 60000);

/** Whether process `pid` holds a userfaultfd (dirty tracking's write protection). */
function holdsUserfaultfd(pid: number): boolean {
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === "anon_inode:[userfaultfd]";
    } catch {
      return false;
    }
  });
}

test("a first --continue checkpoint turns no tracking on, a second one does: the program is left unprotected until then, and the third image is incremental", async () => {
  const ticker = demo("ticker");
  const run = ckpt(["--continue", ticker, "400"], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.split("\n").length > 3);
  const checkpoint = async (n: number) => {
    process.kill(run.pid, "SIGUSR2");
    await until(() => run.stderr.split("checkpoint written").length > n, () => `checkpoint ${n}: ${run.stderr}`);
  };
  await checkpoint(1);
  expect({ userfaultfd: holdsUserfaultfd(run.pid), image: chainOf("myckpt.dat") }).toMatchObject({ userfaultfd: false, image: { tracking: "none", chain: [] } });
  await checkpoint(2);
  expect({ userfaultfd: holdsUserfaultfd(run.pid), image: chainOf("myckpt.dat") }).toMatchObject({ userfaultfd: true, image: { tracking: "write-protect", chain: [] } });
  await checkpoint(3);
  expect(chainOf("myckpt.dat")?.chain.length).toBe(1);
  expect(run.stderr.split("incremental: pages written since the last one").length).toBe(2);
  run.proc.kill("SIGKILL");
  await run.done;
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

test("a chain with a deleted middle link is refused before anything is torn down, naming it; put back, it restarts", async () => {
  const ticker = demo("ticker");
  const facts = await chainOfAtLeast([ticker, "400"], 2, ticker);
  const middle = fileWithId(facts.chain[0]!.imageId);
  const saved = readFileSync(join(dir, middle));
  unlinkSync(join(dir, middle));
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: the chain of incremental images is broken: older image 1 of ${facts.chain.length} it reads from (${facts.chain[0]!.size} bytes) is missing: no file next to it named ${join(dir, "myckpt.dat")}.N holds it; restart an older full image, or keep the chain together\n`,
  );
  // Under any kept name it is found again.
  writeFileSync(join(dir, "myckpt.dat.7"), saved, { mode: 0o600 });
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

/** The newest image's PARENT extents that are parts of an older image's compressed blocks. */
function partsOfBlocks(path: string): Extent[] {
  const image = readImage(path);
  expect(image.header.codec).toBe(CKPT_CODEC_LZ4);
  return image.regions.flatMap((r) => r.extents).filter((e) => e.kind === CKPT_EXTENT_PARENT && e.blockPages > 0);
}

test("--interval with --compress: later images store the pages written since, read the rest from inside older compressed blocks, and the newest restarts with every page checked from inside", async () => {
  const exe = fixture("incremental-memory");
  const facts = await chainOfAtLeast(["--compress", exe], 3, exe);
  expect(facts.tracking).toBe("write-protect");
  const parts = partsOfBlocks(join(dir, "myckpt.dat"));
  // Pages never written since the first image come from its blocks, however
  // many images lie between (each image names every image it reads from).
  expect(parts.some((e) => e.link === facts.chain.length - 1)).toBe(true);
  const stored = readImage(join(dir, "myckpt.dat")).regions.flatMap((r) => r.extents).filter((e) => e.kind === CKPT_EXTENT_DATA);
  expect(Math.max(...stored.map((e) => e.len))).toBeLessThanOrEqual(CKPT_COMPRESS_BLOCK);
  expect((await runToEnd([CKPT, "info", "--verify", "myckpt.dat"], { cwd: dir })).code).toBe(0);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expectRewritesRestored(rest);
}, 90000);

test("a compressed incremental image stores less than the full compressed one before it, and restarts to the same output", async () => {
  await expectSmallerImageSameOutput(["--compress"]);
  expect(partsOfBlocks(join(dir, "myckpt.dat")).length).toBeGreaterThan(0);
}, 60000);

test("a flipped byte in an older image's compressed block is refused by the address of the first page read from it, before the program runs", async () => {
  const exe = fixture("incremental-memory");
  const facts = await chainOfAtLeast(["--compress", exe], 2, exe);
  const parts = partsOfBlocks(join(dir, "myckpt.dat"));
  const victim = parts[Math.floor(parts.length / 2)]!;
  const first = parts.find((e) => e.link === victim.link && e.dataOffset === victim.dataOffset)!;
  const older = join(dir, fileWithId(facts.chain[victim.link]!.imageId));
  const bytes = new Uint8Array(readFileSync(older));
  bytes[victim.dataOffset + Math.floor(victim.storedLen / 2)]! ^= 0x20;
  writeFileSync(older, bytes);

  const why = `memory at 0x${first.start.toString(16)} (`;
  const tail = `, compressed in an older image of the chain): checksum mismatch of the compressed bytes (corrupt image)\n`;
  const verify = await runToEnd([CKPT, "info", "--verify", "myckpt.dat"], { cwd: dir });
  expect({ code: verify.code, named: verify.stderr.includes(why), why: verify.stderr.endsWith(tail) }).toEqual({ code: 1, named: true, why: true });
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stdout: rest.stdout }).toEqual({ code: 1, stdout: "" });
  expect(rest.stderr).toStartWith(`ckpt: cannot restart ${join(dir, "myckpt.dat")}: ${why}`);
  expect(rest.stderr).toEndWith(tail);
}, 60000);

test("a chain with an altered middle link is refused, naming the file", async () => {
  const ticker = demo("ticker");
  const facts = await chainOfAtLeast([ticker, "400"], 2, ticker);
  const middle = fileWithId(facts.chain[0]!.imageId);
  const bytes = readFileSync(join(dir, middle));
  bytes[200]! ^= 1; // the host name: the header checksum no longer matches
  writeFileSync(join(dir, middle), bytes);
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: the chain of incremental images is broken: ${join(dir, middle)}, older image 1 of ${facts.chain.length} it reads from (${facts.chain[0]!.size} bytes), was altered or replaced\n`,
  );
}, 60000);

test(`every ${CKPT_CHAIN_MAX}th image is full again, and the files no kept image reads from are dropped`, async () => {
  const ticker = demo("ticker");
  const r = ckpt(["--interval", "100ms", "--keep", "1", ticker, "3000"], { cwd: dir });
  running.push(r);
  const lengths: number[] = [];
  let seen = 0;
  await until(() => {
    const ino = inode(join(dir, "myckpt.dat"));
    if (ino && ino !== seen) {
      seen = ino;
      const facts = chainOf("myckpt.dat");
      if (facts && lengths[lengths.length - 1] !== facts.chain.length) lengths.push(facts.chain.length);
    }
    return lengths.includes(CKPT_CHAIN_MAX - 1) && lengths[lengths.length - 1] === 0 && lengths.length > 2;
  }, () => `chain lengths seen: ${lengths.join(" ")}`, 45000);
  r.proc.kill("SIGKILL");
  await r.done;
  await until(() => writersOf(ticker).length === 0, () => "the last writer to finish");
  expect(Math.max(...lengths)).toBe(CKPT_CHAIN_MAX - 1);
  // Only the files the newest image and its chain need are left.
  const facts = chainOf("myckpt.dat")!;
  const needed = new Set([facts.imageId, ...facts.chain.map((l) => l.imageId)]);
  for (const name of readdirSync(dir)) expect({ name, kept: needed.has(chainOf(name)!.imageId) }).toEqual({ name, kept: true });
}, 60000);

/** The first extent of `original` that `pick` takes (by its offset in the file). */
function extentWhere(original: Uint8Array, pick: (v: DataView, at: number) => boolean): { v: DataView; at: number } {
  const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const tablesAt = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true));
  const extentsAt = tablesAt + Number(v.getBigUint64(HEADER.fields.extents_off.off, true));
  const nextents = v.getUint32(HEADER.fields.nextents.off, true);
  for (let i = 0; i < nextents; i++) if (pick(v, extentsAt + i * EXTENT.size)) return { v, at: extentsAt + i * EXTENT.size };
  throw new Error("no such extent in the image");
}

/** Sets each 32-bit word at `words` to values at their edges (resealed): the reader and the stub must agree on each. */
function expectEdgesAgree(original: Uint8Array, words: number[]) {
  const v = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const path = join(dir, "edge.dat");
  const stub = join(ROOT, "build", "ckpt-restore");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  for (const at of words)
    for (const value of [0, 1, 2, 3, 5, 8, 9, 10, 255, 256, 257, 4096, 0x10000, 0x80000000, 0xffffffff, v.getUint32(at, true) + 1, v.getUint32(at, true) + 4096]) {
      const img = original.slice();
      new DataView(img.buffer).setUint32(at, value >>> 0, true);
      reseal(img);
      writeFileSync(path, img, { mode: 0o600 });
      let reader: string | undefined;
      try {
        readImage(path);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        reader = e.message;
      }
      const verdict = imageRefusal(stub, path, "tables");
      if ((reader === undefined) !== (verdict === undefined)) disagreements.push(`word at ${at} = ${value}: reader ${reader ?? "accepts"}; stub ${verdict ?? "accepts"}`);
      count[verdict === undefined ? "accepted" : "refused"]++;
    }
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(5);
  expect(count.refused).toBeGreaterThan(30);
}

const isParent = (v: DataView, at: number) => v.getUint16(at + EXTENT.fields.kind.off, true) === CKPT_EXTENT_PARENT;

test("the incremental fields at their edges (tracking, links, a PARENT extent's link and offset): the reader and the stub agree on each", async () => {
  const ticker = demo("ticker");
  await chainOfAtLeast([ticker, "400"], 2, ticker);
  const original = new Uint8Array(readFileSync(join(dir, "myckpt.dat")));
  const { at: parent } = extentWhere(original, isParent);
  expectEdgesAgree(original, [HEADER.fields.tracking.off, HEADER.fields.nlinks.off, HEADER.fields.links.off + LINK.fields.image_id.off,
    HEADER.fields.links.off + LINK.fields.file_size.off, HEADER.fields.links.off + LINK.fields.file_size.off + 4,
    parent + EXTENT.fields.link.off, parent + EXTENT.fields.data_offset.off, parent + EXTENT.fields.data_offset.off + 4, parent + EXTENT.fields.kind.off,
    parent + EXTENT.fields.block_pages.off, parent + EXTENT.fields.block_crc.off]);
}, 60000);

test("a part of an older compressed block at its edges (pages, page, stored length, offset, checksum, link, kind): the reader and the stub agree on each", async () => {
  const exe = fixture("incremental-memory");
  await chainOfAtLeast(["--compress", exe], 2, exe);
  const original = new Uint8Array(readFileSync(join(dir, "myckpt.dat")));
  const { at: part } = extentWhere(original, (v, at) => isParent(v, at) && v.getUint16(at + EXTENT.fields.block_pages.off, true) > 0);
  const { at: data } = extentWhere(original, (v, at) => v.getUint16(at + EXTENT.fields.kind.off, true) === CKPT_EXTENT_DATA);
  expectEdgesAgree(original, [part + EXTENT.fields.block_pages.off, part + EXTENT.fields.block_crc.off, part + EXTENT.fields.stored_len.off,
    part + EXTENT.fields.data_offset.off, part + EXTENT.fields.len.off, part + EXTENT.fields.link.off, part + EXTENT.fields.kind.off,
    data + EXTENT.fields.block_pages.off, data + EXTENT.fields.block_crc.off]);
}, 90000);

/**
 * Pairs of PARENT extents the stub reads in one preadv (c/stub/load_batches.c):
 * of one link, near in memory (so in one batch), the second's bytes after
 * the first's in that file, right after (`hole` 0, though apart in memory)
 * or past a hole of at most 64 KiB it reads into scratch.
 */
function coalescedPairs(path: string) {
  const extents = readImage(path).regions.flatMap((r) => r.extents).filter((e) => e.kind === CKPT_EXTENT_PARENT);
  const pairs: { link: number; first: Extent; second: Extent; hole: number }[] = [];
  const last = new Map<number, Extent>();
  for (const e of extents) {
    const before = last.get(e.link);
    last.set(e.link, e);
    if (!before || e.start - before.start > 1n << 20n) continue;
    const hole = e.dataOffset - (before.dataOffset + before.len);
    if (hole >= 0 && hole <= 64 << 10) pairs.push({ link: e.link, first: before, second: e, hole });
  }
  return pairs;
}

test("pages read in coalesced stretches (runs with holes from the full image, pages apart in memory but side by side in a later one) all come back: every word and a checksum checked from inside", async () => {
  const exe = fixture("chain-pages");
  const facts = await chainOfAtLeast([exe], 3, exe);
  const pairs = coalescedPairs(join(dir, "myckpt.dat"));
  // The layout this test is about, else it proves nothing.
  expect(pairs.filter((p) => p.hole > 0).length).toBeGreaterThan(10);
  expect(pairs.filter((p) => p.hole === 0 && p.second.start !== p.first.start + BigInt(p.first.len)).length).toBeGreaterThan(10);
  expect(new Set(pairs.map((p) => p.link)).size).toBeGreaterThanOrEqual(Math.min(3, facts.chain.length));

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  const out = textLines(rest.stdout);
  expect(out[0]).toBe("PASS every page holds the round that last wrote it");
  const [, have, want] = /^checksum (\w+), expected (\w+)$/.exec(out[1] ?? "") ?? [];
  expect(have).toBe(want!);
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);

test("a byte flipped inside a coalesced stretch of an older image refuses the restart before the program runs; one in a hole it reads past does not", async () => {
  const exe = fixture("chain-pages");
  const facts = await chainOfAtLeast([exe], 2, exe);
  const pair = coalescedPairs(join(dir, "myckpt.dat")).find((p) => p.hole > 0)!;
  expect(pair).toBeDefined();
  const file = join(dir, fileWithId(facts.chain[pair.link]!.imageId));
  const original = readFileSync(file);
  const flipped = (at: number) => {
    const bytes = Buffer.from(original);
    bytes[at]! ^= 0x40;
    writeFileSync(file, bytes);
  };

  flipped(pair.second.dataOffset + 100); // the extent after the hole, in the same read
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: memory contents checksum mismatch (corrupt image)\n` });

  flipped(pair.first.dataOffset + pair.first.len + 100); // stale bytes a newer image replaces
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(textLines(rest.stdout)[0]).toBe("PASS every page holds the round that last wrote it");
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
}, 60000);
