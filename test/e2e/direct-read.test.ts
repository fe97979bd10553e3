// Restart reads memory past the page cache (c/stub/direct_read.c): an
// image out of the cache (as ckpt leaves what it writes) is read with
// O_DIRECT, one mostly in it through it, and either way every page comes
// back checked from inside and a corrupt byte is refused before the
// program runs. strace tells which way the stub read.
import { expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, writeSync, fsyncSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, fixture, need, type Running, runToEnd } from "./harness.ts";
import { fileWithImageId, growChain } from "./periodic.ts";
import { CKPT_EXTENT_PARENT } from "../../src/image/format.ts";
import { readImage } from "../../src/image/read.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const images = () => readdirSync(dir).filter((f) => f.startsWith("myckpt.dat"));
const PASS = "PASS every page holds the round that last wrote it";

/** Every image out of the page cache (posix_fadvise DONTNEED through dd; no root needed), or read into it. */
async function cache(state: "out" | "in") {
  for (const f of images())
    if (state === "out") await Bun.$`dd if=${join(dir, f)} iflag=nocache count=0 status=none`;
    else readFileSync(join(dir, f));
}

/**
 * `ckpt restart` under strace: its result, how many files the stub opened
 * O_DIRECT, and how many reads it made through them (each is moved high
 * with F_DUPFD_CLOEXEC right after its open: the number reads use).
 */
async function restartTraced() {
  const log = join(dir, "restart.trace");
  const trace = ["-f", "-qq", "-e", "trace=openat,fcntl,pread64,preadv", "-o", log];
  const rest = await runToEnd([need("strace", "strace"), ...trace, CKPT, "restart"], { cwd: dir });
  const calls = readFileSync(log, "utf8").split("\n");
  let opens = 0;
  let pending: string | undefined;
  const direct = new Set<string>();
  for (const call of calls) {
    const opened = /"\/proc\/self\/fd\/\d+", O_RDONLY\|O_DIRECT\|O_CLOEXEC\)\s+=\s+(\d+)$/.exec(call);
    const moved = /fcntl\((\d+), F_DUPFD_CLOEXEC, \d+\)\s+=\s+(\d+)$/.exec(call);
    if (opened) opens++, (pending = opened[1]);
    else if (moved && moved[1] === pending) direct.add(moved[2]!), (pending = undefined);
  }
  const directReads = calls.filter((l) => [...l.matchAll(/(?:pread64|preadv)\((\d+),/g)].some((m) => direct.has(m[1]!))).length;
  return { ...rest, stdout: rest.stdout.split("\n")[0], directOpens: opens, directReads };
}

test("a chain out of the page cache is read past it, every image O_DIRECT; read into the cache, through it; both restore every page", async () => {
  const exe = fixture("chain-pages");
  const facts = await growChain(dir, running, [exe], 2, exe);

  await cache("out");
  const cold = await restartTraced();
  expect({ code: cold.code, stderr: cold.stderr, first: cold.stdout }).toEqual({ code: 0, stderr: "", first: PASS });
  expect(cold.directOpens).toBe(1 + facts.chain.length);
  expect(cold.directReads).toBeGreaterThan(0);

  await cache("in");
  const warm = await restartTraced();
  expect({ code: warm.code, stderr: warm.stderr, first: warm.stdout }).toEqual({ code: 0, stderr: "", first: PASS });
  expect(warm.directOpens).toBe(0);
  expect(warm.directReads).toBe(0);
}, 90000);

test("a byte flipped in an older image's data, out of the page cache, is refused while loading before the program runs", async () => {
  const exe = fixture("chain-pages");
  const facts = await growChain(dir, running, [exe], 1, exe);
  // Bytes the newest image reads from an older one (not pages a newer one replaced).
  const parent = readImage(join(dir, "myckpt.dat")).regions.flatMap((r) => r.extents).find((e) => e.kind === CKPT_EXTENT_PARENT)!;
  expect(parent).toBeDefined();
  const older = join(dir, fileWithImageId(dir, facts.chain[parent.link]!.imageId));
  const fd = openSync(older, "r+");
  const at = parent.dataOffset + 100;
  const byte = Buffer.alloc(1);
  byte[0] = readFileSync(older)[at]! ^ 0x40;
  writeSync(fd, byte, 0, 1, at);
  fsyncSync(fd); // written back, so dropping the cache drops it
  closeSync(fd);

  await cache("out");
  const refused = await restartTraced();
  expect(refused.directOpens).toBe(1 + facts.chain.length);
  expect(refused.directReads).toBeGreaterThan(0);
  expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr }).toEqual({
    code: 1, stdout: "", stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: memory contents checksum mismatch (corrupt image)\n`,
  });
}, 90000);
