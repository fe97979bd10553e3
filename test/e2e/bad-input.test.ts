// Bad input never crashes, hangs or runs anything: every broken image, every
// image ckpt must not trust, every program ckpt cannot run gives one line on
// stderr starting with `ckpt: ` and a non-zero exit status.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync,
  statSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { bytes } from "../../src/cli/text.ts";
import { HEADER } from "../../src/image/format.ts";
import { reseal } from "../fuzz/mutate.ts";
import { checkpointRun, ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, inLastingDir, lines, ROOT, runToEnd, spawn, tempDir } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

// One real image, shared: counting-test checkpointed right after its first
// line. Restarted intact it would print "2" at once, so any output from a
// refused restart means the program ran. It runs from a private copy, so
// the image stays restorable while the demos are being rebuilt.
const shared = tempDir("ckpt-e2e-bad-shared-");
afterAll(() => shared.cleanup());
const counting = join(shared.dir, "counting-test");
let good: Buffer;
beforeAll(async () => {
  copyFileSync(demo("counting-test"), counting);
  chmodSync(counting, 0o755);
  const first = await checkpointRun([counting, "1"], { cwd: shared.dir, afterLines: 1 });
  if (first.code !== EXIT_CHECKPOINTED) throw new Error(`could not make the shared image: ${first.stderr}`);
  good = readFileSync(join(shared.dir, "myckpt.dat"));
}, 60000);

/** A run's result as runToEnd gives it. */
type Result = Awaited<ReturnType<typeof runToEnd>>;

/** `ckpt ARGS...` in the test's directory, with a deadline. */
const ckptRun = (args: string[], env?: Record<string, string | undefined>) => runToEnd([CKPT, ...args], { cwd: dir, env }, 20000);

/** Exactly one line on stderr, starting `ckpt: ` and matching `why`; nothing on stdout; exit `code`. */
function expectOneLineError(r: Result, code: number, why: RegExp) {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  expect(r.stderr).toMatch(/^ckpt: [^\n]*\n$/);
  expect(r.stderr).toMatch(why);
}

/** Writes `bytes` as an image file with a private mode, returns its path. */
function writeImage(name: string, bytes: Uint8Array, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  chmodSync(path, mode);
  return path;
}

function flipBit(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset]! ^= 0x10;
  return copy;
}

// Field offsets of struct ckpt_header (c/ckpt_format.h): magic[8], version,
// header_size, arch, page_size (u32 each), file_size, created_ns, capture_ns
// (u64), pid, nthreads, nregions, nextents, nfds, strings_size (u32),
// tables_offset, tables_size, data_offset, threads_off, regions_off,
// extents_off (u64), ...; hostname[72] starts at 144.
const H = { nextents: 60, tablesOffset: 72, tablesSize: 80, dataOffset: 88, regionsOff: 104, extentsOff: 112, hostname: 144 };
const EXTENT_SIZE = 48; // start u64, len u64, kind u32, crc u32, data_offset u64, stored_len u64, block fields u64 (format 9)
const EXTENT_DATA = 1;

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/** The DATA extents of an image, from its own tables. */
function dataExtents(img: Buffer): { len: number; dataOffset: number }[] {
  expect(img.subarray(0, 8).toString("latin1")).toBe("CKPTIMG\0");
  const tables = u64(img, H.tablesOffset);
  const first = tables + u64(img, H.extentsOff);
  const out: { len: number; dataOffset: number }[] = [];
  for (let i = 0; i < img.readUInt32LE(H.nextents); i++) {
    const at = first + i * EXTENT_SIZE;
    if (img.readUInt32LE(at + 16) === EXTENT_DATA) out.push({ len: u64(img, at + 8), dataOffset: u64(img, at + 24) });
  }
  // Cross-check the offsets above: data starts where the header says.
  expect(out.length).toBeGreaterThan(0);
  expect(out[0]!.dataOffset).toBe(u64(img, H.dataOffset));
  return out;
}

/** An offset inside the stored bytes of the last DATA extent (the stack). */
function dataByte(img: Buffer): number {
  const last = dataExtents(img).at(-1)!;
  return last.dataOffset + Math.floor(last.len / 2);
}

const corrupt: [string, () => Buffer | null, RegExp][] = [
  ["a missing image", () => null, /no such file/i],
  ["an empty file", () => Buffer.alloc(0), /empty/],
  ["random bytes", () => randomBytes(64 * 1024), /not a ckpt image/],
  ["a real image truncated by 1 byte", () => good.subarray(0, good.length - 1), /truncated/],
  ["a real image truncated to half", () => good.subarray(0, good.length >> 1), /truncated/],
  ["a real image with 4096 extra bytes", () => Buffer.concat([good, randomBytes(4096)]), /extended|size/],
  ["a real image with a bit flipped in the header", () => flipBit(good, H.hostname + 3), /header checksum mismatch/],
  ["a real image with a bit flipped in the tables",
    () => flipBit(good, u64(good, H.tablesOffset) + u64(good, H.regionsOff) + 8), /tables? checksum mismatch/],
];

for (const [what, bytes, why] of corrupt) {
  test(`restart refuses ${what}`, async () => {
    const b = bytes();
    const image = b ? writeImage("img.dat", b) : join(dir, "img.dat");
    expectOneLineError(await ckptRun(["restart", image]), 1, why);
  }, 30000);

  test(`info refuses ${what}`, async () => {
    const b = bytes();
    const image = b ? writeImage("img.dat", b) : join(dir, "img.dat");
    expectOneLineError(await ckptRun(["info", image]), 1, why);
  }, 30000);
}

test("restart of an image with a bit flipped in region data: the stub stops before the program runs", async () => {
  const image = writeImage("img.dat", flipBit(good, dataByte(good)));
  const r = await ckptRun(["restart", image]);
  expect(r).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${image}: memory contents checksum mismatch (corrupt image)\n` });
}, 30000);

test("info --verify finds a bit flipped in region data (plain info reads no data)", async () => {
  const image = writeImage("img.dat", flipBit(good, dataByte(good)));
  // The description comes first on stdout; the verdict is the one stderr line.
  const r = await ckptRun(["info", "--verify", image]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^ckpt: [^\n]*: memory at 0x[0-9a-f]+ \(\+\d+\): data checksum mismatch \(corrupt image\)\n$/);
  expect(r.stdout).not.toContain("all checksums match");
  expect((await ckptRun(["info", "--verify", writeImage("good.dat", good)])).stdout).toContain("all checksums match");
}, 30000);

test("the stub's refusal reaches the restart's stderr even when the program's own stderr was a file, which stays untouched", async () => {
  // The program's fd 2 is a regular file: the stub reopens it at its number.
  const run = spawn(["/bin/sh", "-c", 'exec "$0" "$@" 2>prog-err.txt', CKPT, demo("counting-test"), "1"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 1);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const progErr = readFileSync(join(dir, "prog-err.txt"));
  expect(progErr.toString()).toContain("ckpt: taking a checkpoint into");
  const img = readFileSync(join(dir, "myckpt.dat"));
  writeImage("myckpt.dat", flipBit(img, dataByte(img)));
  const r = await ckptRun(["restart"]);
  expect(r).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: memory contents checksum mismatch (corrupt image)\n` });
  expect(readFileSync(join(dir, "prog-err.txt")).toString()).toBe(progErr.toString());
}, 30000);

test("info on a good image: exit 0, names the program", async () => {
  const r = await ckptRun(["info", writeImage("img.dat", good)]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(counting);
}, 30000);

test("restart refuses a group-writable image and says to chmod it", async () => {
  const image = writeImage("img.dat", good, 0o664);
  expectOneLineError(await ckptRun(["restart", image]), 1, /writable by group or others.*chmod 600/);
}, 30000);

test("restart refuses an image owned by another user", async () => {
  const image = writeImage("img.dat", good);
  chownSync(image, 65534, 65534); // nobody
  expectOneLineError(await ckptRun(["restart", image]), 1, /owned by uid 65534/);
}, 30000);

// The program's executable changes after the checkpoint: its pages would be
// mapped again from a different file.
const exeChanges: [string, (exe: string) => void, RegExp][] = [
  ["touched (mtime)", (exe) => expect(Bun.spawnSync(["touch", exe]).exitCode).toBe(0), /was modified/],
  ["grown by a byte", (exe) => appendFileSync(exe, "\0"), /changed size/],
  ["replaced by a copy", (exe) => {
    copyFileSync(exe, `${exe}.new`);
    renameSync(`${exe}.new`, exe);
  }, /was replaced/],
];
for (const [how, change, why] of exeChanges)
  test(`restart refuses a program whose executable was ${how} after the checkpoint, naming the file`, async () => {
    const exe = join(dir, "prog");
    copyFileSync(demo("counting-test"), exe);
    chmodSync(exe, 0o755);
    const first = await checkpointRun([exe, "1"], { cwd: dir, afterLines: 1 });
    expect(first.code).toBe(EXIT_CHECKPOINTED);
    change(exe);
    const r = await ckptRun(["restart"]);
    expectOneLineError(r, 1, why);
    expect(r.stderr).toContain(exe);
  }, 30000);

test("restart refuses a program whose executable was removed, then restores it once it is back", async () => {
  const exe = join(dir, "prog");
  copyFileSync(demo("counting-test"), exe);
  chmodSync(exe, 0o755);
  expect((await checkpointRun([exe, "2"], { cwd: dir, afterLines: 1 })).code).toBe(EXIT_CHECKPOINTED);
  renameSync(exe, `${exe}.away`);
  const r = await ckptRun(["restart"]);
  expect(r).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: mapped file ${exe} no longer exists since the checkpoint\n` });
  renameSync(`${exe}.away`, exe); // same inode, size and mtime: the very file
  const back = ckpt(["restart"], { cwd: dir });
  await back.waitFor((o) => lines(o) >= 1);
  back.proc.kill("SIGKILL");
  await back.done;
  expect({ stdout: back.stdout, stderr: back.stderr }).toEqual({ stdout: "3\n", stderr: "" });
}, 30000);

test("a modified executable's refusal gives both mtimes, to the nanosecond, in UTC", async () => {
  const exe = join(dir, "prog");
  copyFileSync(demo("counting-test"), exe);
  chmodSync(exe, 0o755);
  const utc = (ns: bigint) => `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
  const before = utc(statSync(exe, { bigint: true }).mtimeNs);
  expect((await checkpointRun([exe, "2"], { cwd: dir, afterLines: 1 })).code).toBe(EXIT_CHECKPOINTED);
  expect(Bun.spawnSync(["touch", "-d", "2001-02-03 04:05:06.123456789 UTC", exe]).exitCode).toBe(0);
  const r = await ckptRun(["restart"]);
  expectOneLineError(r, 1, /was modified/);
  expect(r.stderr).toContain(`mapped file ${exe} was modified (mtime ${before}, now 2001-02-03T04:05:06.123456789Z) since the checkpoint`);
}, 30000);

test("restart refuses an image whose open file shrank below its offset or vanished, and restores it once it is back", async () => {
  // Not in /tmp, whose small files the image keeps and the restart makes again (below).
  await inLastingDir((lasting) => refusesShrunkOrVanished(join(lasting, "run.log")));
}, 30000);

test("a small file open in a temporary directory that vanished after the checkpoint is made again from the image: the program reads back its whole log", async () => {
  const log = join(dir, "run.log"); // under /tmp
  expect((await checkpointRun([fixture("pipe-self"), log], { cwd: dir, afterLines: 4 })).code).toBe(EXIT_CHECKPOINTED);
  const kept = readFileSync(log);
  expect(kept.length).toBeGreaterThan(0);
  const mode = statSync(log).mode & 0o7777;
  const info = await ckptRun(["info"]);
  expect(info.stdout).toContain(`${log} (${bytes(kept.length)} kept: made again if gone)`);
  rmSync(log);
  const back = await ckptRun(["restart"]);
  expect({ code: back.code, stderr: back.stderr }).toEqual({ code: 0, stderr: "" });
  expect(back.stdout).toContain("pipe ok, log ok");
  expect(statSync(log).mode & 0o7777).toBe(mode);
}, 30000);

async function refusesShrunkOrVanished(log: string) {
  expect((await checkpointRun([fixture("pipe-self"), log], { cwd: dir, afterLines: 4 })).code).toBe(EXIT_CHECKPOINTED);
  const kept = readFileSync(log);
  expect(kept.length).toBeGreaterThan(0);
  const image = join(dir, "myckpt.dat");
  writeFileSync(log, "");
  expect((await ckptRun(["restart"])).stderr).toBe(
    `ckpt: cannot restart ${image}: fd 40: ${log} is now 0 bytes, shorter than the saved offset ${kept.length}\n`);
  rmSync(log);
  expect(await ckptRun(["restart"])).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${image}: fd 40: ${log} no longer exists\n` });
  writeFileSync(log, kept);
  const back = await ckptRun(["restart"]);
  expect({ code: back.code, stderr: back.stderr }).toEqual({ code: 0, stderr: "" });
  expect(back.stdout).toContain("pipe ok, log ok");
}

test("restart refuses an image taken under another vDSO layout, naming both sizes and kernels", async () => {
  const img = new Uint8Array(good);
  const view = new DataView(img.buffer);
  const vdso = 2; // enum ckpt_special: [vvar], [vvar_vclock], [vdso]
  const endAt = HEADER.fields.special_end.off + vdso * 8;
  const start = view.getBigUint64(HEADER.fields.special_start.off + vdso * 8, true);
  const end = view.getBigUint64(endAt, true);
  expect(end).toBeGreaterThan(start);
  view.setBigUint64(endAt, end - 4096n, true);
  reseal(img);
  const image = writeImage("img.dat", img);
  const release = Bun.spawnSync(["uname", "-r"]).stdout.toString().trim();
  const r = await ckptRun(["restart", image]);
  expect(r).toEqual({
    code: 1, stdout: "",
    stderr: `ckpt: cannot restart ${image}: this kernel's vDSO layout differs from the image's ([vdso] is ${end - start} bytes here, ` +
      `${end - start - 4096n} bytes in the image); restart on the kernel that took it (${release}, this is ${release})\n`,
  });
}, 30000);

test("the restore stub run by hand with bad arguments: one line, exit 1", async () => {
  // The very bytes ckpt embeds and extracts (launch.test.ts checks that).
  const stub = (args: string[]) => runToEnd([join(ROOT, "build", "ckpt-restore"), ...args], { cwd: dir }, 20000);
  const usage = /^ckpt: cannot restart: usage: ckpt-restore IMAGE NEXT-IMAGE \[NOTE\]/;
  for (const args of [[], ["img.dat"], ["img.dat", "img.dat", "a note", "extra"]])
    expectOneLineError(await stub(args), 1, usage);
  const missing = join(dir, "missing.dat");
  expect((await stub([missing, missing])).stderr).toBe(`ckpt: cannot restart ${missing}: No such file or directory\n`);
  expect((await stub([missing, missing, "a note"])).stderr).toBe(`ckpt: cannot restart ${missing}: No such file or directory (a note)\n`);
  const junk = writeImage("junk.dat", randomBytes(8192));
  expectOneLineError(await stub([junk, junk]), 1, /not a ckpt image/);
}, 30000);

// Programs ckpt cannot run: refused before anything runs. hello-test prints
// a line at once, so stdout stays empty only if it never ran.

let staticHello: Promise<string> | undefined;
/** hello-test linked statically (built once, in the shared directory). */
function buildStaticHello(): Promise<string> {
  staticHello ??= (async () => {
    const out = join(shared.dir, "hello-static");
    const r = await runToEnd(["cc", "-static", "-O1", "-o", out, join(ROOT, "test", "fixtures", "hello-test.c")], { cwd: shared.dir });
    if (r.code !== 0) throw new Error(`cc -static failed: ${r.stderr}`);
    return out;
  })();
  return staticHello;
}

/** A copy of hello-test in the test's directory with `mode`. */
function helloCopy(name: string, mode: number): string {
  const path = join(dir, name);
  copyFileSync(fixture("hello-test"), path);
  chmodSync(path, mode);
  return path;
}

/** `path` given cap_net_raw, permitted and effective, as `setcap cap_net_raw+ep` would (needs root). */
function withCapabilities(path: string): string {
  // struct vfs_cap_data, revision 2: magic | effective, then permitted and inheritable, low and high words.
  const set = `import os, struct; os.setxattr(${JSON.stringify(path)}, "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))`;
  const r = Bun.spawnSync(["python3", "-c", set]);
  if (r.exitCode !== 0) throw new Error(`cannot give ${path} file capabilities (this test needs root): ${r.stderr.toString().trim()}`);
  return path;
}

function script(name: string, interpreter: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!${interpreter}\necho ran > ${join(dir, "ran")}\n`);
  chmodSync(path, 0o755);
  return path;
}

const refused: [string, () => Promise<string[]> | string[], number, RegExp][] = [
  ["a missing program", () => [join(dir, "no-such-program")], 127, /no such file/],
  ["a command not on PATH", () => ["no-such-command-ckpt-e2e"], 127, /command not found/],
  ["a directory", () => {
    mkdirSync(join(dir, "subdir"));
    return [join(dir, "subdir")];
  }, 126, /is a directory/],
  ["a file that is not executable", () => [helloCopy("hello", 0o644)], 126, /not executable/],
  ["a statically linked program", async () => [await buildStaticHello()], 126, /statically linked/],
  ["a setuid program", () => [helloCopy("hello", 0o4755)], 126, /setuid/],
  ["a setgid program", () => [helloCopy("hello", 0o2755)], 126, /setgid/],
  ["a script whose interpreter is static", async () => [script("s.sh", await buildStaticHello())], 126, /bad interpreter.*statically linked/],
  ["a script whose interpreter is missing", () => [script("s.sh", join(dir, "no-such-interpreter"))], 126,
    /bad interpreter .*no-such-interpreter: no such file/],
  ["a script whose interpreter is setuid", () => [script("s.sh", helloCopy("hello", 0o4755))], 126, /bad interpreter.*setuid/],
  // As ping is shipped: run by an ordinary user, it never loaded libckpt and kill -USR2 did nothing, silently.
  ["a program with file capabilities", () => [withCapabilities(helloCopy("hello", 0o755))], 126, /has file capabilities/],
  ["a script whose interpreter has file capabilities", () => [script("s.sh", withCapabilities(helloCopy("hello", 0o755)))], 126,
    /bad interpreter.*has file capabilities/],
];

for (const [what, program, code, why] of refused)
  test(`ckpt refuses ${what} without running it (exit ${code})`, async () => {
    const args = await program();
    expectOneLineError(await ckptRun(args), code, why);
    expect(existsSync(join(dir, "ran"))).toBe(false);
    expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  }, 30000);
