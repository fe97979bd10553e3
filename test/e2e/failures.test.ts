// A failed checkpoint is harmless: the program runs on to its normal end,
// an earlier image stays byte for byte as it was, nothing is left behind in
// the image directory, and ckpt says why in one line. Requests that overlap
// are served one after the other, and --continue keeps the latest state.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, type Running, runToEnd, spawn, tempDir, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** Waits until the program has written `pattern` to stderr. */
function stderrShows(run: Running, pattern: RegExp, ms = 30000): Promise<void> {
  return until(() => pattern.test(run.stderr), () => `stderr ${JSON.stringify(run.stderr)}, stdout ${JSON.stringify(run.stdout)}`, ms);
}

/**
 * ckpt with the program's stderr merged into its stdout: ckpt's report
 * lines then sit exactly between the lines the program printed before and
 * after each checkpoint (the program is stopped in the handler meanwhile).
 */
function ckptMerged(args: string[], cwd: string): Running {
  return spawn(["/bin/sh", "-c", 'exec "$0" "$@" 2>&1', CKPT, ...args], { cwd });
}

const isReport = (l: string) => l.startsWith("ckpt: ");
const textLines = (out: string) => out.split("\n").slice(0, -1);

/** The program's own output in a merged stream. */
function programOutput(merged: string): string {
  return textLines(merged).filter((l) => !isReport(l)).map((l) => `${l}\n`).join("");
}

/** How many program lines precede the `nth` (1-based) "checkpoint written" report. */
function linesBeforeCheckpoint(merged: string, nth: number): number {
  let seen = 0;
  let count = 0;
  for (const l of textLines(merged)) {
    if (l.startsWith("ckpt: checkpoint written")) {
      if (++seen === nth) return count;
    } else if (!isReport(l)) count++;
  }
  throw new Error(`no checkpoint #${nth} in:\n${merged}`);
}

/**
 * With --continue the image is written by a background writer after the
 * program resumes, so its report comes later than the moment of capture.
 * That moment lies between the request and the report: the restart must
 * continue from some line in that window, exactly.
 */
function expectRestartFrom(restOut: string, ref: string, atRequest: number, beforeReport: number) {
  const k = textLines(ref).length - textLines(restOut).length;
  expect(dropLines(ref, k)).toBe(restOut);
  expect(k).toBeGreaterThanOrEqual(atRequest);
  expect(k).toBeLessThanOrEqual(beforeReport);
}

/** The background writer's pid from the program's status line, or 0. */
function backgroundWriter(pid: number): number {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "latin1");
    const m = env.match(/CKPT_STATUS=seq=\d+ state=writing [^\n]*\nmessage=writer (\d+)/);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").match(/\) [ZX] /);
  } catch {
    return false;
  }
};

/** The reference output without its first `n` lines. */
const dropLines = (out: string, n: number) => textLines(out).slice(n).map((l) => `${l}\n`).join("");

const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, `${re.flags}g`))?.length ?? 0;

/** A file of random bytes standing for an earlier image; returns its bytes. */
function earlierImage(path: string, size = 64 * 1024): Buffer {
  const bytes = randomBytes(size);
  writeFileSync(path, bytes, { mode: 0o600 });
  return bytes;
}

/** Signal bit `sig` (1-based) in a /proc/PID/status mask line such as SigBlk. */
function statusMaskHas(pid: number, field: string, sig: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = status.match(new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m"));
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n;
}

const SIGXFSZ = 25;

// Mounting needs CAP_SYS_ADMIN; find out once whether this machine allows it.
const canMount = (() => {
  const probe = tempDir("ckpt-mount-probe-");
  try {
    const ok = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.dir]).exitCode === 0;
    if (ok) Bun.spawnSync(["umount", probe.dir]);
    else console.warn("failures.test.ts: cannot mount a tmpfs here; the disk-full and read-only tests are skipped");
    return ok;
  } finally {
    probe.cleanup();
  }
})();

/** Mounts a tmpfs at `at` and returns an unmount function (lazy, so it cannot hang cleanup). */
function mountTmpfs(at: string, options: string): () => void {
  mkdirSync(at, { recursive: true });
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", options, "tmpfs", at]);
  if (r.exitCode !== 0) throw new Error(`mount failed: ${r.stderr.toString()}`);
  return () => void Bun.spawnSync(["umount", "-l", at]);
}

/** Runs `program` under ckpt, asks for a checkpoint after `after` lines, expects one failure report. */
async function failedCheckpoint(ckptArgs: string[], program: string[], after: number, cwd = dir) {
  const run = ckpt([...ckptArgs, ...program], { cwd });
  await run.waitFor((o) => lines(o) >= after);
  process.kill(run.pid, "SIGUSR2");
  await stderrShows(run, /checkpoint failed/);
  const code = await run.exit(60000);
  return { run, code };
}

/** One line on stderr: `ckpt: checkpoint failed: ...; the program continues`, matching `why`. */
function expectOneFailureLine(stderr: string, why: RegExp) {
  expect(stderr).toMatch(/^ckpt: checkpoint failed: [^\n]*; the program continues\n$/);
  expect(stderr).toMatch(why);
}

/** Runs `program` with its image in DIR/images, removes that directory
 * after ten lines, and requests a checkpoint, which must fail. */
async function checkpointIntoVanishedDir(program: string[]) {
  const imageDir = join(dir, "images");
  mkdirSync(imageDir);
  const run = ckpt(["--image", join(imageDir, "img.dat"), ...program], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 10);
  rmdirSync(imageDir);
  process.kill(run.pid, "SIGUSR2");
  await stderrShows(run, /checkpoint failed/);
  return { run, imageDir };
}

test("image directory removed after launch: the checkpoint fails, the program runs to its normal end", async () => {
  const program = [demo("ticker"), "100"];
  const reference = runToEnd(program, { cwd: dir });
  const { run } = await checkpointIntoVanishedDir(program);
  expect(await run.exit(60000)).toBe(0);
  expectOneFailureLine(run.stderr, /images.*No such file or directory/);
  expect(run.stdout).toBe((await reference).stdout);
  expect(readdirSync(dir)).toEqual([]);
}, 60000);

test("after a failed checkpoint a later one succeeds, and the restart continues the output exactly", async () => {
  const program = [demo("ticker"), "120"];
  const reference = runToEnd(program, { cwd: dir });
  const { run, imageDir } = await checkpointIntoVanishedDir(program);
  mkdirSync(imageDir);
  const seen = lines(run.stdout);
  await run.waitFor((o) => lines(o) >= seen + 10);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const reports = run.stderr.split("\n").filter(Boolean);
  expect(reports).toHaveLength(2);
  expect(reports[0]).toMatch(/^ckpt: checkpoint failed: /);
  expect(reports[1]).toMatch(/^ckpt: checkpoint written to .*img\.dat/);
  const rest = await runToEnd([CKPT, "restart", join(imageDir, "img.dat")], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(run.stdout + rest.stdout).toBe((await reference).stdout);
}, 60000);

test.skipIf(!canMount)("read-only image directory: the checkpoint fails, the earlier image is untouched", async () => {
  const ro = join(dir, "ro");
  const unmount = mountTmpfs(ro, "size=4m");
  try {
    const before = earlierImage(join(ro, "img.dat"));
    expect(Bun.spawnSync(["mount", "-o", "remount,ro", ro]).exitCode).toBe(0);
    const program = [demo("ticker"), "60"];
    const reference = runToEnd(program, { cwd: dir });
    const { run, code } = await failedCheckpoint(["--image", join(ro, "img.dat")], program, 10);
    expect(code).toBe(0);
    expectOneFailureLine(run.stderr, /Read-only file system/);
    expect(run.stdout).toBe((await reference).stdout);
    expect(readdirSync(ro)).toEqual(["img.dat"]);
    expect(readFileSync(join(ro, "img.dat")).equals(before)).toBe(true);
  } finally {
    unmount();
  }
}, 60000);

// --compress writes through a thread of its own (compressed_stream.c): its failure must reach the line too.
for (const compress of [[], ["--compress"]])
test.skipIf(!canMount)(`disk full${compress.length ? " with --compress" : ""}: the checkpoint fails, the earlier image keeps its bytes, no temporary file is left`, async () => {
  const small = join(dir, "small");
  const unmount = mountTmpfs(small, "size=1m");
  try {
    const image = join(small, "img.dat");
    const before = earlierImage(image);
    const program = [fixture("heap-pattern"), "8", "6"]; // an image of 8 MiB and more
    const reference = runToEnd(program, { cwd: dir });
    const { run, code } = await failedCheckpoint(["--image", image, ...compress], program, 1);
    expect(code).toBe(0);
    expectOneFailureLine(run.stderr, /No space left on device/);
    expect(run.stdout).toBe((await reference).stdout);
    expect(run.stdout).toContain("heap ok");
    expect(readdirSync(small)).toEqual(["img.dat"]);
    expect(readFileSync(image).equals(before)).toBe(true);
  } finally {
    unmount();
  }
}, 60000);

test("RLIMIT_FSIZE too small: the checkpoint fails with 'File too large' and SIGXFSZ does not kill the program", async () => {
  // Extract ckpt's helper files now, so nothing of ckpt's own meets the limit.
  expect((await runToEnd([CKPT, "/bin/true"], { cwd: dir })).code).toBe(0);
  const program = [fixture("heap-pattern"), "4", "6"];
  const reference = runToEnd(program, { cwd: dir });
  // dash counts 512-byte blocks: 32 KiB, far below the image of 4 MiB and more.
  const run = spawn(["/bin/sh", "-c", 'ulimit -f 64 && exec "$0" "$@"', CKPT, ...program], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 1);
  // SIGXFSZ is not ignored in the program (Bun ignores it; the launcher resets
  // it), so an unconsumed SIGXFSZ from the writer would kill it.
  expect(statusMaskHas(run.pid, "SigIgn", SIGXFSZ)).toBe(false);
  process.kill(run.pid, "SIGUSR2");
  await stderrShows(run, /checkpoint failed/);
  const code = await run.exit(60000);
  expect(run.proc.signalCode).toBeNull();
  expect(code).toBe(0);
  expectOneFailureLine(run.stderr, /File too large/);
  expect(run.stdout).toBe((await reference).stdout);
  expect(readdirSync(dir)).toEqual([]);
}, 60000);

test("a second request while the background writer is still writing waits for it, then is served; the final image restarts", async () => {
  const program = [fixture("heap-pattern"), "256", "4"]; // writing 256 MiB takes a while
  const reference = runToEnd(program, { cwd: dir }, 120000);
  const run = ckptMerged(["--continue", ...program], dir);
  await run.waitFor((o) => o.includes("step 0"), 60000);
  process.kill(run.pid, "SIGUSR2");
  let writer = 0;
  await until(() => (writer = backgroundWriter(run.pid)) > 0, () => "no background writer appeared");
  const atSecond = textLines(programOutput(run.stdout)).length;
  process.kill(run.pid, "SIGUSR2");
  // The premise: the second request arrived while the first image was being written.
  expect(alive(writer)).toBe(true);
  expect(await run.exit(120000)).toBe(0);
  expect(count(run.stdout, /^ckpt: checkpoint written to .*; continuing$/m)).toBe(2);
  expect(textLines(run.stdout).filter(isReport)).toHaveLength(2);
  const ref = (await reference).stdout;
  expect(programOutput(run.stdout)).toBe(ref);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir }, 120000);
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expectRestartFrom(rest.stdout, ref, atSecond, linesBeforeCheckpoint(run.stdout, 2));
}, 120000);

test("--continue: three checkpoints, the program finishes normally, and the image holds the last one", async () => {
  const program = [demo("ticker"), "150"];
  const reference = runToEnd(program, { cwd: dir });
  const run = ckptMerged(["--continue", ...program], dir);
  const atRequest: number[] = [];
  for (const [nth, after] of [[1, 20], [2, 50], [3, 90]] as const) {
    await run.waitFor((o) => lines(o) >= after + nth - 1);
    atRequest.push(textLines(programOutput(run.stdout)).length);
    process.kill(run.pid, "SIGUSR2");
    await run.waitFor((o) => count(o, /^ckpt: checkpoint written/m) === nth);
  }
  expect(await run.exit()).toBe(0);
  const ref = (await reference).stdout;
  expect(programOutput(run.stdout)).toBe(ref);
  expect(count(run.stdout, /^ckpt: checkpoint written to .*myckpt\.dat .*; continuing$/m)).toBe(3);
  expect(run.stdout).toMatch(/program paused [\d.]+ ms, durable after [\d.]+ ms\); continuing/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expectRestartFrom(rest.stdout, ref, atRequest[2]!, linesBeforeCheckpoint(run.stdout, 3));
}, 60000);

/** Descriptors of `pid` that point into `inDir` other than `except`. */
function filesOpenIn(pid: number, inDir: string, except: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith(`${inDir}/`) && target !== except) found.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return found;
}

/** A real, small image at DIR/images/img.dat, as a later checkpoint's predecessor. */
async function earlierRealImage() {
  const imageDir = join(dir, "images");
  mkdirSync(imageDir);
  const image = join(imageDir, "img.dat");
  const small = ckpt(["--image", image, demo("counting-test"), "1"], { cwd: dir });
  await small.waitFor((o) => lines(o) >= 1);
  process.kill(small.pid, "SIGUSR2");
  expect(await small.exit()).toBe(EXIT_CHECKPOINTED);
  return { imageDir, image, before: readFileSync(image) };
}

test("SIGKILL of the program while it writes its image: the earlier image is unchanged and no temporary file remains", async () => {
  const { imageDir, image, before } = await earlierRealImage();

  const big = ckpt(["--image", image, fixture("heap-pattern"), "512", "3"], { cwd: dir });
  await big.waitFor((o) => o.includes("step 0"), 60000);
  process.kill(big.pid, "SIGUSR2");
  // The new image is open (unnamed) in the image directory: it is being written.
  let writing: string[] = [];
  await until(() => (writing = filesOpenIn(big.pid, imageDir, image)).length > 0, () => "no image being written");
  await Bun.sleep(5);
  process.kill(big.pid, "SIGKILL");
  await big.done;
  expect(big.proc.signalCode).toBe("SIGKILL");
  expect(big.stderr).not.toContain("checkpoint written");
  expect(writing.length).toBeGreaterThan(0);
  expect(readdirSync(imageDir)).toEqual(["img.dat"]);
  expect(readFileSync(image).equals(before)).toBe(true);
}, 60000);

test("SIGKILL of a background writer mid-write: the earlier image is unchanged, no temporary file, the program runs on", async () => {
  const { imageDir, image, before } = await earlierRealImage();

  const program = [fixture("heap-pattern"), "512", "3"];
  const big = ckpt(["--continue", "--image", image, ...program], { cwd: dir });
  await big.waitFor((o) => o.includes("step 0"), 60000);
  process.kill(big.pid, "SIGUSR2");
  let writer = 0;
  await until(() => (writer = backgroundWriter(big.pid)) > 0 && filesOpenIn(writer, imageDir, image).length > 0,
    () => "no background writer with the image open");
  process.kill(writer, "SIGKILL");
  expect(await big.exit(120000)).toBe(0); // the program never noticed
  expect(big.stdout).toBe((await runToEnd(program, { cwd: dir }, 120000)).stdout);
  expect(big.stderr).not.toContain("checkpoint written");
  expect(readdirSync(imageDir)).toEqual(["img.dat"]);
  expect(readFileSync(image).equals(before)).toBe(true);
}, 120000);

test("--continue saves MADV_DONTFORK and MADV_WIPEONFORK memory, which the background writer cannot see as is", async () => {
  const program = [fixture("fork-flags")];
  const run = ckptMerged(["--continue", ...program], dir);
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => o.includes("checkpoint written"));
  expect(await run.exit()).toBe(0);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain("step 9: dontfork ok, wipeonfork ok, plain ok");
  expect(rest.stdout).not.toContain("LOST");
}, 60000);

test("a storm of 100 requests with --continue: the program never corrupts itself, and the images taken along the way restart correctly", async () => {
  // heap-pattern checks every word of its heap on every step and exits 4 on any change.
  const program = [fixture("heap-pattern"), "16", "25"];
  const run = ckptMerged(["--continue", ...program], dir);
  await run.waitFor((o) => o.includes("step 0"), 60000);
  const kept: string[] = [];
  for (let i = 0; i < 100; i++) {
    // Counted before the request: an incremental image can be durable
    // within the sleep below, and its line must count as the new one.
    const written = count(run.stdout, /checkpoint written/m);
    process.kill(run.pid, "SIGUSR2");
    await Bun.sleep(5 + (i % 7) * 3);
    // Every 25th, wait until an image is complete and keep a copy of it,
    // with the older images an incremental one reads from (myckpt.dat.N).
    if (i % 25 === 24) {
      await run.waitFor((o) => count(o, /checkpoint written/m) > written);
      // A later request's writer may be moving them up meanwhile: copy again
      // until the copy is a whole chain (the stub's --verify finds it).
      const copies = join(dir, `kept-${i}`);
      for (let attempt = 0; attempt < 20; attempt++) {
        rmSync(copies, { recursive: true, force: true });
        mkdirSync(copies);
        for (const name of readdirSync(dir).filter((n) => n.startsWith("myckpt.dat")))
          try {
            writeFileSync(join(copies, name), readFileSync(join(dir, name)), { mode: 0o600 });
          } catch {} // moved up meanwhile: the next attempt finds it
        if (Bun.spawnSync([CKPT, "info", "--verify", join(copies, "myckpt.dat")]).exitCode === 0) break;
      }
      kept.push(join(copies, "myckpt.dat"));
    }
  }
  expect(await run.exit(120000)).toBe(0);
  expect(run.stdout).toContain("heap ok");
  expect(run.stdout).not.toContain("checkpoint failed");
  expect(count(run.stdout, /checkpoint written/m)).toBeGreaterThan(4);
  for (const image of kept) {
    const rest = await runToEnd([CKPT, "restart", image, "--image", join(dir, "after.dat")], { cwd: dir }, 120000);
    expect({ image, code: rest.code, ok: rest.stdout.includes("heap ok") }).toEqual({ image, code: 0, ok: true });
  }
}, 240000);
