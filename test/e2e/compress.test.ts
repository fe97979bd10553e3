// Compressed images (--compress; c/lib/compressed_stream.c writes them,
// c/stub/inflate.c reads them): a large heap of zeros, text and floats
// (test/fixtures/mixed-heap.c) comes back byte for byte, checked from
// inside after the restart; the image is smaller than without; a corrupt
// compressed extent is refused by address before the program runs, even
// one whose checksum was made to match; --continue, --interval, `restart
// --compress` and musl programs compress too.
import { describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXTENT, HEADER } from "../../src/image/format.ts";
import { crc32c } from "../../src/image/crc32c.ts";
import { readImage } from "../../src/image/read.ts";
import type { Extent } from "../../src/image/types.ts";
import { reseal } from "../fuzz/mutate.ts";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, muslFixture, type Running, runToEnd, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const HEAP_MIB = "96"; // over 16 MiB: the stub loads with every core

function start(args: string[]): Running {
  const r = ckpt(args, { cwd: dir });
  running.push(r);
  return r;
}

/** mixed-heap under ckpt with `opts`, checkpointed (stop mode) into `image`. */
async function checkpointHeap(opts: string[], image: string): Promise<void> {
  const run = start([...opts, "--image", image, fixture("mixed-heap"), HEAP_MIB]);
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect({ code: await run.exit(), stderr: run.stderr }).toEqual({ code: EXIT_CHECKPOINTED, stderr: expect.stringContaining("checkpoint written") });
}

/** Restarts `image`; the fixture's own checks must all pass. */
async function expectHeapBack(image: string): Promise<void> {
  const rest = await runToEnd([CKPT, "restart", image], { cwd: dir });
  const checks = rest.stdout.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checks).toHaveLength(4);
  expect({ code: rest.code, stderr: rest.stderr, last: rest.stdout.endsWith("mixed heap ok\n") }).toEqual({ code: 0, stderr: "", last: true });
}

/** The compressed DATA extents of `image` (stored in fewer bytes than they hold, not zeros). */
function compressedExtents(image: string): { extents: Extent[]; index: (e: Extent) => number } {
  const all = readImage(image).regions.flatMap((r) => r.extents);
  return { extents: all.filter((e) => e.storedLen > 0 && e.storedLen < e.len), index: (e) => all.indexOf(e) };
}

test("a 96 MiB heap of zeros, text and floats comes back exactly from a compressed image, which is smaller", async () => {
  await checkpointHeap([], "plain.dat");
  await checkpointHeap(["--compress"], "packed.dat");
  const plain = statSync(join(dir, "plain.dat")).size, packed = statSync(join(dir, "packed.dat")).size;
  // A third of the heap is zeros, stored as nothing either way (zero_pages.c,
  // compressed_stream.c); the text shrinks, the floats hardly.
  expect(plain).toBeLessThan(96 * 2 ** 20 * 0.75);
  expect(packed).toBeLessThan(plain * 0.8);

  const info = await runToEnd([CKPT, "info", "packed.dat"], { cwd: dir });
  expect(info.stdout).toMatch(/^memory data +[\d.]+ MiB stored of [\d.]+ MiB mapped, compressed \(lz4\) to [\d.]+ MiB$/m);
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json", "packed.dat"], { cwd: dir })).stdout);
  expect(json.image.compression).toBe("lz4");
  expect(json.totals.memoryCompressed).toBeLessThan(json.totals.memoryStored * 0.6);
  const plainJson = JSON.parse((await runToEnd([CKPT, "info", "--json", "plain.dat"], { cwd: dir })).stdout);
  expect(plainJson.image.compression).toBe("none");
  expect(plainJson.totals.memoryCompressed).toBe(plainJson.totals.memoryStored);
  expect((await runToEnd([CKPT, "info", "--verify", "packed.dat"], { cwd: dir })).code).toBe(0);

  await expectHeapBack("packed.dat");
  await expectHeapBack("plain.dat");
}, 120000);

test("a compressed extent with a flipped byte is refused at restart by its address, before the program runs", async () => {
  await checkpointHeap(["--compress"], "packed.dat");
  const path = join(dir, "packed.dat");
  const { extents } = compressedExtents(path);
  expect(extents.length).toBeGreaterThan(10);
  const victim = extents[Math.floor(extents.length / 2)]!;
  const bytes = new Uint8Array(readFileSync(path));
  bytes[victim.dataOffset + Math.floor(victim.storedLen / 2)]! ^= 0x20;
  writeFileSync(path, bytes);

  const address = `0x${victim.start.toString(16)}`;
  const verify = await runToEnd([CKPT, "info", "--verify", "packed.dat"], { cwd: dir });
  expect(verify.code).toBe(1);
  expect(verify.stderr).toContain(`memory at ${address} `);
  const rest = await runToEnd([CKPT, "restart", "packed.dat"], { cwd: dir });
  expect(rest.code).toBe(1);
  expect(rest.stdout).toBe("");
  expect(rest.stderr).toBe(`ckpt: cannot restart ${path}: memory at ${address} (1.0 MiB, compressed): checksum mismatch of the compressed bytes (corrupt image)\n`);
}, 120000);

test("a corrupt compressed block whose checksum was made to match never runs: the bounds-checked decompressor refuses it", async () => {
  await checkpointHeap(["--compress"], "packed.dat");
  const path = join(dir, "packed.dat");
  const { extents, index } = compressedExtents(path);
  const victim = extents[Math.floor(extents.length / 3)]!;
  const bytes = new Uint8Array(readFileSync(path));
  // A block cut short: its last 64 bytes replaced by a match reaching far back, checksum recomputed.
  const stored = bytes.subarray(victim.dataOffset, victim.dataOffset + victim.storedLen);
  stored.fill(0xff, stored.length - 64);
  const view = new DataView(bytes.buffer);
  const tables = Number(view.getBigUint64(HEADER.fields.tables_offset.off, true));
  const record = tables + Number(view.getBigUint64(HEADER.fields.extents_off.off, true)) + index(victim) * EXTENT.size;
  view.setUint32(record + EXTENT.fields.crc.off, crc32c(stored), true);
  reseal(bytes);
  writeFileSync(path, bytes);

  const rest = await runToEnd([CKPT, "restart", "packed.dat"], { cwd: dir });
  expect({ code: rest.code, stdout: rest.stdout }).toEqual({ code: 1, stdout: "" });
  expect(rest.stderr).toBe(`ckpt: cannot restart ${path}: memory at 0x${victim.start.toString(16)} (1.0 MiB, compressed): the compressed block does not inflate to its length (corrupt image)\n`);
}, 120000);

test("--continue --compress: the program runs on, and the compressed image restores its heap", async () => {
  const run = start(["--continue", "--compress", fixture("mixed-heap"), HEAP_MIB]);
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  await until(() => run.stderr.includes("continuing"), () => `no checkpoint line; stderr: ${run.stderr}`);
  expect(run.stderr).toMatch(/checkpoint written to .*myckpt\.dat .*; continuing\n$/);
  expect(run.proc.exitCode).toBe(null); // still waiting for a restart
  run.proc.kill("SIGKILL");
  await run.done;
  expect(JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout).image.compression).toBe("lz4");
  await expectHeapBack("myckpt.dat");
}, 120000);

test("--interval --compress: periodic compressed images; after a SIGKILL the newest restores the heap", async () => {
  const run = start(["--interval", "300ms", "--compress", fixture("mixed-heap"), HEAP_MIB]);
  await run.waitFor((o) => o.includes("ready\n"));
  // Each commit renames a new file over the name, whole. The second new one
  // seen after "ready" was surely taken after it (the first may have been
  // under way before, while the heap was still being filled). A file is
  // told by inode and change time: a new file may get a freed inode number.
  const file = () => {
    const st = statSync(join(dir, "myckpt.dat"), { throwIfNoEntry: false, bigint: true });
    return st ? `${st.ino}:${st.ctimeNs}` : "";
  };
  const seen = new Set<string>();
  const before = file();
  await until(() => {
    seen.add(file());
    seen.delete(before);
    seen.delete("");
    return seen.size >= 2;
  }, () => `two periodic checkpoints after ready, saw ${seen.size}`);
  run.proc.kill("SIGKILL");
  await run.done;
  // A background writer still at work may commit once more; the image is whole either way.
  await Bun.sleep(500);
  expect(JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout).image.compression).toBe("lz4");
  await expectHeapBack("myckpt.dat");
}, 120000);

test("`ckpt restart --compress` compresses the images a program launched without it writes from then on", async () => {
  const ticker = demo("ticker");
  const first = start([ticker, "100"]);
  await first.waitFor((o) => lines(o) >= 3);
  process.kill(first.pid, "SIGUSR2");
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  expect(JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout).image.compression).toBe("none");

  const second = start(["restart", "--compress"]);
  await second.waitFor((o) => lines(o) >= 3);
  process.kill(second.pid, "SIGUSR2");
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  expect(JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout).image.compression).toBe("lz4");
  const third = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: third.code, stderr: third.stderr }).toEqual({ code: 0, stderr: "" });
  const straight = await runToEnd([ticker, "100"], { cwd: dir });
  expect(first.stdout + second.stdout + third.stdout).toBe(straight.stdout);
}, 120000);

const count = muslFixture("count");
describe.skipIf(!count)("musl", () => {
  test("a musl program compresses too: checkpointed with --compress, restarted, it prints what a straight run prints", async () => {
    const straight = await runToEnd([count!, "60"], { cwd: dir });
    const first = start(["--compress", count!, "60"]);
    await first.waitFor((o) => lines(o) >= 10);
    process.kill(first.pid, "SIGUSR2");
    expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
    const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
    expect({ libc: json.taken.libc, compression: json.image.compression }).toEqual({ libc: "musl", compression: "lz4" });
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
    expect(first.stdout + rest.stdout).toBe(straight.stdout);
  }, 60000);
});
