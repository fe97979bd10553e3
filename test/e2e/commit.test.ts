// The image's commit, seen from the system calls under strace: the data,
// tables and header are written, then fsync'd, then linked under a
// temporary name, renamed over the image and the directory fsync'd, in
// that order, by the program (stop mode) and by the background writer
// (--continue). And a SIGKILL at the link or at the rename themselves
// (strace's fault injection) leaves the earlier image exactly as it was.
// Skipped, with the reason printed, where strace is missing or cannot
// attach.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd, strace } from "./harness.ts";

let dir: string;
const started: Running[] = [];
eachTestInTempDir((d) => (dir = d), started);

const IMAGE = "myckpt.dat";
const TMP = `.${IMAGE}.ckpt-tmp`;
const run = (args: string[]) => runToEnd([CKPT, ...args], { cwd: dir }, 60000);

/** Launches a private copy of the program `built` under ckpt and waits for `lines` lines of output. */
async function launch(built: string, args: string[], ckptArgs: string[] = [], lines = 3): Promise<Running> {
  const program = join(dir, basename(built));
  copyFileSync(built, program);
  chmodSync(program, 0o755);
  const r = ckpt([...ckptArgs, program, ...args], { cwd: dir });
  started.push(r);
  await r.waitFor((out) => out.split("\n").length > lines);
  return r;
}

interface Call { pid: number; name: string; args: string; ret: string }

/** The calls of an `strace -f` log, with calls split by another thread's ("<unfinished ...>") joined again. */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<number, string>();
  for (const line of text.split("\n")) {
    let m = line.match(/^(\d+) +(.*) <unfinished \.\.\.>$/);
    if (m) {
      pending.set(Number(m[1]), m[2]!);
      continue;
    }
    let body = line;
    m = line.match(/^(\d+) +<\.\.\. \w+ resumed>(.*)$/);
    if (m) body = `${m[1]} ${pending.get(Number(m[1])) ?? ""}${m[2]}`;
    const c = body.match(/^(\d+) +(\w+)\((.*)\) += (.*)$/);
    if (c) calls.push({ pid: Number(c[1]), name: c[2]!, args: c[3]!, ret: c[4]! });
  }
  return calls;
}

const TRACED = "trace=openat,ftruncate,write,pwrite64,pwritev,pwritev2,io_submit,fsync,fdatasync,sync_file_range,link,linkat,rename,renameat,renameat2,unlink,unlinkat,close";

/**
 * The order the README promises: every write of the image file, then its
 * fsync, then the link under the temporary name, the rename over the image,
 * and the fsync of the directory, each succeeding, all by one process.
 */
function expectDurableCommit(calls: Call[]) {
  const at = (pred: (c: Call) => boolean, what: string) => {
    const i = calls.findIndex(pred);
    if (i < 0) throw new Error(`no ${what} in the trace; its end:\n${calls.slice(-40).map((c) => `${c.pid} ${c.name}(${c.args.slice(0, 120)}) = ${c.ret}`).join("\n")}`);
    return i;
  };
  const iDir = at((c) => c.name === "openat" && c.args.startsWith(`AT_FDCWD, "${dir}"`) && c.args.includes("O_DIRECTORY"), "open of the image directory");
  const { pid, ret: dirFd } = calls[iDir]!;
  const mine = (c: Call) => c.pid === pid;
  const iOpen = at((c) => mine(c) && c.name === "openat" && c.args.startsWith(`${dirFd}, ".", `) && c.args.includes("O_TMPFILE"), "O_TMPFILE open");
  const fd = calls[iOpen]!.ret;
  const writesImage = (c: Call) =>
    mine(c) && (["ftruncate", "write", "pwrite64", "pwritev", "pwritev2"].includes(c.name) ? c.args.startsWith(`${fd}, `) : c.name === "io_submit" && c.args.includes(`aio_fildes=${fd},`));
  const lastWrite = calls.findLastIndex(writesImage);
  const iSync = at((c) => mine(c) && ["fsync", "fdatasync"].includes(c.name) && c.args === fd, `fsync(${fd}) of the image`);
  const iLink = at((c) => mine(c) && c.name === "linkat" && c.args === `AT_FDCWD, "/proc/self/fd/${fd}", ${dirFd}, "${TMP}", AT_SYMLINK_FOLLOW`, "linkat to the temporary name");
  const iRename = at((c) => mine(c) && c.name.startsWith("rename") && c.args.startsWith(`${dirFd}, "${TMP}", ${dirFd}, "${IMAGE}"`), "rename over the image");
  const iDirSync = at((c) => mine(c) && c.name === "fsync" && c.args === dirFd && calls.indexOf(c) > iRename, `fsync(${dirFd}) of the directory after the rename`);
  expect(lastWrite).toBeGreaterThan(iOpen);
  const order = { lastWrite, iSync, iLink, iRename, iDirSync };
  expect(Object.values(order)).toEqual(Object.values(order).toSorted((a, b) => a - b));
  for (const i of [iSync, iLink, iRename, iDirSync]) expect({ call: calls[i]!.name, ret: calls[i]!.ret }).toEqual({ call: calls[i]!.name, ret: "0" });
}

describe("durability: the order of fsync, link, rename and the directory's fsync", () => {
  test("stop mode: the program writes and commits the image itself", async () => {
    const p = await launch(demo("ticker"), ["2000"]);
    const s = await strace(dir, p.pid, ["-e", TRACED]);
    if (!s) return;
    process.kill(p.pid, "SIGUSR2");
    expect(await p.exit()).toBe(EXIT_CHECKPOINTED);
    await s.proc.exit();
    expectDurableCommit(parseTrace(readFileSync(s.log, "utf8")));
    expect(readdirSync(dir).sort()).toEqual([IMAGE, "ticker"]);
  }, 60000);

  test("--continue: the background writer does the same, through AIO for a larger image", async () => {
    const p = await launch(fixture("heap-pattern"), ["24", "1000"], ["--continue"], 1); // 24 MiB: the AIO path
    const s = await strace(dir, p.pid, ["-e", TRACED]);
    if (!s) return;
    const r = await run(["checkpoint", String(p.pid)]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    s.proc.proc.kill("SIGTERM"); // detaches; the program runs on
    await s.proc.done;
    const calls = parseTrace(readFileSync(s.log, "utf8"));
    expect(calls.some((c) => c.name === "io_submit")).toBe(true);
    expect(calls.find((c) => c.name === "linkat")!.pid).not.toBe(p.pid); // the writer, not the program
    expectDurableCommit(calls);
    expect(p.proc.exitCode).toBeNull();
  }, 60000);
});

describe("atomic replacement: SIGKILL at the commit step itself", () => {
  /**
   * An earlier image (taken with --continue so the program runs on), then
   * a stopping checkpoint killed by strace on entry to `syscalls`: the call
   * never runs. Returns the earlier image's bytes.
   */
  async function killedAt(syscalls: string) {
    const p = await launch(demo("ticker"), ["3000"]);
    expect((await run(["checkpoint", "--continue", String(p.pid)])).code).toBe(0);
    const earlier = readFileSync(join(dir, IMAGE));
    const s = await strace(dir, p.pid, ["-e", `trace=${syscalls}`, "-e", `inject=${syscalls}:signal=KILL`]);
    if (!s) return null;
    process.kill(p.pid, "SIGUSR2");
    await p.done;
    await s.proc.exit();
    expect(p.proc.signalCode).toBe("SIGKILL");
    expect(p.stderr.match(/checkpoint written/g)?.length).toBe(1); // the earlier one only
    return earlier;
  }

  /** The earlier image is usable: restart it, then a new checkpoint replaces it and leaves nothing else. */
  async function restartThenCheckpoint(earlier: Buffer) {
    const again = ckpt(["restart"], { cwd: dir });
    started.push(again);
    await again.waitFor((out) => out.split("\n").length > 3);
    process.kill(again.pid, "SIGUSR2");
    expect(await again.exit()).toBe(EXIT_CHECKPOINTED);
    expect(readdirSync(dir).sort()).toEqual([IMAGE, "ticker"]);
    expect(readFileSync(join(dir, IMAGE)).equals(earlier)).toBe(false);
  }

  test("at the link: the earlier image byte for byte, no temporary file", async () => {
    const earlier = await killedAt("link,linkat");
    if (!earlier) return;
    expect(readdirSync(dir).sort()).toEqual([IMAGE, "ticker"]);
    expect(readFileSync(join(dir, IMAGE)).equals(earlier)).toBe(true);
    expect((await run(["info", "--verify", IMAGE])).code).toBe(0);
    await restartThenCheckpoint(earlier);
  }, 60000);

  test("at the rename: the earlier image byte for byte; the complete new one under the temporary name, replaced next time", async () => {
    const earlier = await killedAt("rename,renameat,renameat2");
    if (!earlier) return;
    // Linux cannot link an unnamed file over an existing name in one step:
    // between the link and the rename it has the temporary name, and a
    // kill there leaves it, complete and checked, for the next commit.
    expect(readdirSync(dir).sort()).toEqual([TMP, IMAGE, "ticker"]);
    expect(readFileSync(join(dir, IMAGE)).equals(earlier)).toBe(true);
    expect((await run(["info", "--verify", IMAGE])).code).toBe(0);
    expect((await run(["info", "--verify", TMP])).code).toBe(0);
    await restartThenCheckpoint(earlier);
  }, 60000);
});
