// The command line of the compiled executable: every command's output and
// exit status, `checkpoint PID` against live programs (continuing,
// stopping, failing, stuck, not ours), `info --json` against the tables,
// `list`, help, version, and `--` ending ckpt's options.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd, spawn } from "./harness.ts";

let dir: string;
const started: Running[] = [];
eachTestInTempDir((d) => (dir = d), started);

/** `ckpt ARGS...` in the test's directory, to its end. */
const run = (args: string[], env?: Record<string, string | undefined>) => runToEnd([CKPT, ...args], { cwd: dir, env }, 30000);

/** A private copy of a demo (the shared ones may be rebuilt while tests run; restart checks the file). */
function copyDemo(name: string): string {
  const p = join(dir, name);
  copyFileSync(demo(name), p);
  chmodSync(p, 0o755);
  return p;
}

/** Starts `ckpt ARGS...` and waits for its first `lines` lines. */
async function launch(args: string[], lines = 3): Promise<Running> {
  const r = ckpt(args, { cwd: dir });
  started.push(r);
  await r.waitFor((out) => out.split("\n").length > lines);
  return r;
}

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, code: number, why: RegExp) {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  expect(r.stderr).toMatch(/^ckpt: [^\n]*\n$/);
  expect(r.stderr).toMatch(why);
}

const WRITTEN = (pid: number, path: string, then: string) =>
  new RegExp(`^checkpoint of ${pid} written to ${path.replaceAll(".", "\\.")} \\(\\d+\\.\\d KiB, [\\d.]+ (µs|ms|s)\\); ${then}\\n$`);

describe("checkpoint PID", () => {
  test("a program launched with --continue: the image is complete when it returns, and the program runs on", async () => {
    const p = await launch(["--continue", copyDemo("ticker"), "2000"]);
    const first = await run(["checkpoint", String(p.pid)]);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toMatch(WRITTEN(p.pid, join(dir, "myckpt.dat"), "it continues"));
    const info = JSON.parse((await run(["info", "--json"])).stdout);
    expect(info.pid).toBe(p.pid);
    const printed = p.stdout.length;
    await p.waitFor((out) => out.length > printed + 20); // still printing
    const second = await run(["checkpoint", String(p.pid)]);
    expect(second.code).toBe(0);
    expect(JSON.parse((await run(["info", "--json"])).stdout).taken.time > info.taken.time).toBe(true);
    expect(p.stderr.match(/checkpoint written to/g)?.length).toBe(2);
  }, 60000);

  test("a program launched without --continue stops with 85 and restarts from the image", async () => {
    const program = copyDemo("ticker");
    const reference = await runToEnd([program, "60"], { cwd: dir });
    const p = await launch([program, "60"], 5);
    const r = await run(["checkpoint", String(p.pid)]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(WRITTEN(p.pid, join(dir, "myckpt.dat"), `it stopped with exit status ${EXIT_CHECKPOINTED}`));
    expect(await p.exit()).toBe(EXIT_CHECKPOINTED);
    const rest = await run(["restart"]);
    expect(rest.code).toBe(0);
    expect(p.stdout + rest.stdout).toBe(reference.stdout);
  }, 60000);

  test("--continue keeps a program running that was launched to stop", async () => {
    const p = await launch([copyDemo("ticker"), "2000"]);
    const r = await run(["checkpoint", "--continue", String(p.pid)]);
    expect(r.stdout).toMatch(WRITTEN(p.pid, join(dir, "myckpt.dat"), "it continues"));
    const printed = p.stdout.length;
    await p.waitFor((out) => out.length > printed + 20);
    expect(p.proc.exitCode).toBeNull();
  }, 60000);

  test("a failed checkpoint: its reason, exit 1, and the program continues", async () => {
    mkdirSync(join(dir, "images"));
    const p = await launch(["--image", "images/x.dat", copyDemo("ticker"), "2000"]);
    rmSync(join(dir, "images"), { recursive: true });
    const r = await run(["checkpoint", String(p.pid)]);
    expectOneLineError(r, 1, new RegExp(`^ckpt: checkpoint of ${p.pid} failed: .*images.*; the program continues$`, "m"));
    const printed = p.stdout.length;
    await p.waitFor((out) => out.length > printed + 20);
  }, 60000);

  test("a program that does not answer: the deadline, exit 1", async () => {
    const p = await launch(["--continue", copyDemo("ticker"), "2000"]);
    process.kill(p.pid, "SIGSTOP");
    try {
      const r = await run(["checkpoint", "--timeout", "0.3", String(p.pid)]);
      expectOneLineError(r, 1, new RegExp(`no checkpoint from process ${p.pid} after 0.3 s: it has not begun`));
    } finally {
      process.kill(p.pid, "SIGCONT");
    }
  }, 60000);

  test("no such process", async () => {
    const gone = spawn(["true"], { cwd: dir });
    await gone.exit();
    expectOneLineError(await run(["checkpoint", String(gone.pid)]), 1, new RegExp(`^ckpt: no process with pid ${gone.pid}$`, "m"));
  }, 30000);

  test("a process not running under ckpt", async () => {
    const sleeper = spawn(["sleep", "30"], { cwd: dir });
    started.push(sleeper);
    await Bun.sleep(50);
    expectOneLineError(await run(["checkpoint", String(sleeper.pid)]), 1,
      new RegExp(`^ckpt: process ${sleeper.pid} \\(sleep\\) is not running under ckpt`, "m"));
  }, 30000);

  test("another user's process", async () => {
    let pid = 1; // init is root's: another user's unless we are root
    if (process.getuid!() === 0) {
      const other = spawn(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "30"], { cwd: "/" });
      started.push(other);
      await Bun.sleep(100);
      if (other.proc.exitCode !== null) {
        console.warn(`skipped: cannot run a process as nobody (setpriv: ${other.stderr.trim()})`);
        return;
      }
      pid = other.pid; // setpriv execs sleep: same pid
    }
    expectOneLineError(await run(["checkpoint", String(pid)]), 1, new RegExp(`^ckpt: process ${pid} .*belongs to another user \\(uid \\d+\\)`, "m"));
  }, 30000);

  test("usage errors exit 2", async () => {
    expectOneLineError(await run(["checkpoint", "abc"]), 2, /'abc' is not a process id/);
    expectOneLineError(await run(["checkpoint"]), 2, /missing required args/);
    expectOneLineError(await run(["checkpoint", "--timeout", "0", "1"]), 2, /--timeout: '0' is not a positive number/);
    expectOneLineError(await run(["checkpoint", "--bogus", "1"]), 2, /Unknown option `--bogus`/);
  }, 30000);
});

describe("info --json", () => {
  test("agrees with the tables and with the process it came from", async () => {
    const program = copyDemo("threads-count");
    const p = await launch(["--continue", program, "3", "100000"], 1);
    expect((await run(["checkpoint", String(p.pid)])).code).toBe(0);
    const human = await run(["info"]);
    const json = await run(["info", "--json"]);
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: "" });
    const doc = JSON.parse(json.stdout);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.pid).toBe(p.pid);
    expect(doc.program.exe).toBe(program);
    expect(doc.program.argv).toEqual([program, "3", "100000"]);
    expect(doc.threads.length).toBe(4);
    expect(doc.threads[0].tid).toBe(p.pid);
    expect(human.stdout).toContain(`threads (4):`);
    for (const t of doc.threads) expect(human.stdout).toMatch(new RegExp(`${t.tid}\\s+${t.name}\\s+${t.rip}\\s+${t.rsp}\\s+${t.fsBase}`));
    expect(human.stdout).toContain(`memory (${doc.regions.length} regions`);
    let prevEnd = 0n;
    for (const r of doc.regions) {
      const [start, end] = [BigInt(r.start), BigInt(r.end)];
      expect(start >= prevEnd && end > start).toBe(true);
      expect(r.size).toBe(Number(end - start));
      expect(r.stored.data + r.stored.zero + r.stored.file + r.stored.guard).toBe(r.size);
      expect(human.stdout).toContain(`${r.start}-${r.end}  ${r.perms}`);
      prevEnd = end;
    }
    expect(doc.totals.imageSize).toBe(readFileSync(join(dir, "myckpt.dat")).length);
    expect(doc.files.map((f: { fd: number }) => f.fd).slice(0, 3)).toEqual([0, 1, 2]);
    const verified = JSON.parse((await run(["info", "--json", "--verify"])).stdout).verified;
    expect(verified.items).toBeGreaterThan(0);
  }, 60000);

  test("a corrupt or truncated image: one line, no JSON", async () => {
    const p = await launch([copyDemo("ticker"), "2000"]);
    expect((await run(["checkpoint", String(p.pid)])).code).toBe(0);
    const good = readFileSync(join(dir, "myckpt.dat"));
    writeFileSync(join(dir, "cut.dat"), good.subarray(0, good.length - 4096));
    expectOneLineError(await run(["info", "--json", "cut.dat"]), 1, /^ckpt: cut\.dat: truncated \(header says \d+ bytes, file has \d+\)$/m);
    const flipped = Buffer.from(good);
    flipped[200]! ^= 1;
    writeFileSync(join(dir, "flipped.dat"), flipped);
    expectOneLineError(await run(["info", "--json", "flipped.dat"]), 1, /^ckpt: flipped\.dat: header checksum mismatch \(corrupt image\)$/m);
    expectOneLineError(await run(["info", "--json", "none.dat"]), 1, /^ckpt: none\.dat: cannot open \(no such file\)$/m);
  }, 30000);
});

describe("list", () => {
  test("good and corrupt images, newest first; other files ignored", async () => {
    const p = await launch([copyDemo("ticker"), "2000"]);
    expect((await run(["checkpoint", String(p.pid)])).code).toBe(0);
    writeFileSync(join(dir, "broken.dat"), readFileSync(join(dir, "myckpt.dat")).subarray(0, 5000));
    writeFileSync(join(dir, "notes.txt"), "hello");
    // A good image sorts by the time in its header, a broken one by its
    // file's mtime. Set that mtime explicitly, a few seconds after or before
    // the image's time: the kernel stamps files from a coarser clock than
    // CLOCK_REALTIME, so "written just after" can read as earlier.
    const taken = Date.parse(JSON.parse((await run(["info", "--json"])).stdout).taken.time);
    const broken = /^broken\.dat +just now +4\.9 KiB +unusable: truncated \(header says \d+ bytes, file has 5000\)$/;
    const good = /^myckpt\.dat +just now +\d+\.\d KiB +ticker 2000$/;
    utimesSync(join(dir, "broken.dat"), new Date(taken + 3000), new Date(taken + 3000));
    const r = await run(["list"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME +AGE +SIZE +PROGRAM$/);
    expect(rows.length).toBe(3);
    expect(rows[1]).toMatch(broken);
    expect(rows[2]).toMatch(good);
    expect((await run(["list", dir])).stdout).toBe(r.stdout);
    utimesSync(join(dir, "broken.dat"), new Date(taken - 3000), new Date(taken - 3000));
    const older = (await run(["list"])).stdout.trimEnd().split("\n");
    expect(older[1]).toMatch(good);
    expect(older[2]).toMatch(broken);
  }, 60000);

  test("nothing to list, and a directory that is not there", async () => {
    expect(await run(["list"])).toEqual({ code: 0, stdout: "no ckpt images in .\n", stderr: "" });
    expectOneLineError(await run(["list", "missing"]), 1, /^ckpt: missing: no such directory$/m);
  }, 30000);
});

describe("help, version, and the end of ckpt's options", () => {
  test("--version", async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../../package.json"), "utf8"));
    expect(await run(["--version"])).toEqual({ code: 0, stdout: `ckpt ${pkg.version}\n`, stderr: "" });
    expect((await run(["-v"])).stdout).toBe(`ckpt ${pkg.version}\n`);
  }, 30000);

  test("--help: every command, the interactive mode, every exit status", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const text of ["checkpoint <pid>", "restart [image]", "info [image]", "list [dir]", "Interactive mode", "Exit status:"])
      expect(r.stdout).toContain(text);
    for (const code of [0, 1, 2, 85, 126, 127, 130]) expect(r.stdout).toMatch(new RegExp(`^  ${code} +\\S`, "m"));
  }, 30000);

  test("COMMAND --help: usage, examples and that command's exit statuses", async () => {
    for (const command of ["run", "restart", "checkpoint", "info", "list"]) {
      const r = await run([command, "--help"]);
      expect({ command, code: r.code }).toEqual({ command, code: 0 });
      expect(r.stdout).toContain(`$ ckpt ${command === "run" ? "" : command}`);
      expect(r.stdout).toContain("Examples:");
      expect(r.stdout).toContain("Exit status:");
      expect(r.stdout).not.toMatch(/^  130/m);
    }
    expect((await run(["checkpoint", "--help"])).stdout).toContain("--timeout <seconds>");
    expect((await run(["info", "--help"])).stdout).toContain("--json");
  }, 30000);

  test("no arguments without a terminal: the help, exit 2", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage:");
    expect(r.stdout).toContain("Interactive mode");
  }, 30000);

  test("the program gets blocking stdio pipes, though the runtime made its own non-blocking", async () => {
    const r = await run(["sh", "-c", "grep -h flags /proc/self/fdinfo/1 /proc/self/fdinfo/2"]);
    for (const line of (r.stdout + r.stderr).trim().split("\n")) expect(Number.parseInt(line.split(/\s+/)[1]!, 8) & 0o4000).toBe(0);
  }, 30000);

  test("-- ends ckpt's options: what follows is the program's, even names of commands and options", async () => {
    const show = join(dir, "info");
    writeFileSync(show, `#!/bin/sh\necho "args: $*"\ntr '\\0' '\\n' < /proc/$$/environ | grep '^CKPT_IMAGE='\n`);
    chmodSync(show, 0o755);
    const env = { PATH: `${dir}:${process.env.PATH}` };
    const a = await run(["--image", "a.dat", "--", "info", "--image", "b.dat", "--help"], env);
    expect(a).toEqual({ code: 0, stdout: `args: --image b.dat --help\nCKPT_IMAGE=${join(dir, "a.dat")}\n`, stderr: "" });
    const b = await run(["run", "--continue", "--", "info", "--", "x"], env);
    expect(b.stdout).toStartWith("args: -- x\n");
    const c = await run(["--", "--not-an-option"]);
    expectOneLineError(c, 127, /--not-an-option: command not found/);
    expect(existsSync(join(dir, "a.dat"))).toBe(false);
  }, 30000);
});

test("where memory may not be both written and executed (PR_SET_MDWE), ckpt, whose runtime needs a JIT, says so in one line", async () => {
  const r = await runToEnd([fixture("deny-write-exec"), CKPT, "restart"], { cwd: dir });
  if (r.code === 2 && r.stderr.startsWith("deny-write-exec")) {
    console.log(`skipped: this kernel has no PR_SET_MDWE (${r.stderr.trim()})`);
    return;
  }
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^ckpt: cannot run without a JIT: .*\(memory-deny-write-execute: PR_SET_MDWE, systemd's MemoryDenyWriteExecute=\).*\n$/);
}, 30000);
