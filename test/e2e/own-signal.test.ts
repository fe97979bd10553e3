// A program that installs its own handler for the checkpoint signal keeps
// its use of the signal, and can still be checkpointed with
// `ckpt checkpoint PID`; ckpt says once what happened and that --signal
// avoids it.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, need, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

test("plain SIGUSR2 reaches the program's handler; `ckpt checkpoint PID` still checkpoints; one warning", async () => {
  const run = ckpt([fixture("own-usr2")], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  expect(run.stdout).toContain("handler installed: yes");
  process.kill(run.pid, "SIGUSR2");
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => /saw [12] SIGUSR2/.test(o));
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(request.code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const warnings = run.stderr.split("\n").filter((l) => l.startsWith("ckpt: warning:"));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/installed its own handler for signal 12, the checkpoint trigger.*--signal/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain("step 11:");
}, 60000);

test("with --signal USR1 the program owns SIGUSR2 outright and USR1 checkpoints, no warning", async () => {
  const run = ckpt(["--signal", "USR1", fixture("own-usr2")], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => o.includes("saw 1 SIGUSR2"));
  process.kill(run.pid, "SIGUSR1");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).not.toContain("warning");
}, 60000);

test("a program that blocks the trigger: one warning, and a request sent meanwhile is served once it unblocks", async () => {
  const run = ckpt([fixture("blocks-usr2")], { cwd: dir });
  await run.waitFor((o) => o.includes("step 1:"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const warnings = run.stderr.split("\n").filter((l) => l.startsWith("ckpt: warning:"));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/blocks signal 12, the checkpoint trigger; a checkpoint waits until a thread unblocks it.*--signal/);
  // The request waited through all six blocking steps and was served the
  // moment the program unblocked the signal, before its next line.
  expect(run.stdout.trim().split("\n").at(-1)).toBe("step 5: blocking SIGUSR2");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout.split("\n")[0]).toBe("step 6: not blocking");
  expect(rest.stdout).toContain("step 11:");
}, 60000);

test("the advice is where a full-screen program's user sees it: status line, `ckpt checkpoint`, and the last line at exit", async () => {
  const run = ckpt([fixture("own-usr2")], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  const status = readFileSync(`/proc/${run.pid}/environ`, "latin1");
  expect(status).toMatch(/message=warning: the program installed its own handler for signal 12, the checkpoint trigger;.*--signal/);
  const request = await runToEnd([CKPT, "checkpoint", "--continue", String(run.pid)], { cwd: dir });
  expect(request.code).toBe(0);
  expect(request.stderr).toMatch(/^ckpt: warning: the program installed its own handler for signal 12.*--signal to pick a free one\)\n$/);
  expect(await run.exit()).toBe(0);
  const last = run.stderr.trim().split("\n").at(-1)!;
  expect(last).toMatch(/^ckpt: note: this program took signal 12, the checkpoint trigger, for itself.*ckpt checkpoint PID.*--signal/);
  // Restarted from that image, the program (a new pid) still has the last word.
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stderr.trim().split("\n").at(-1)).toMatch(/^ckpt: note: this program took signal 12/);
}, 60000);

// PostgreSQL's postmaster blocks every signal at start, then installs its
// own SIGUSR2 handler: a single warning (the block's) told its user that a
// checkpoint would wait, while `kill -USR2` went to the postmaster for good.
test("a program that blocks the trigger, then takes it with a handler of its own: both warnings, in that order; a plain signal reaches its handler, `ckpt checkpoint` checkpoints", async () => {
  const program = [
    "import signal, sys, time",
    "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])",
    "signal.signal(signal.SIGUSR2, lambda *_: print('handler ran', flush=True))",
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR2])",
    "for i in range(40):",
    "    print('step', i, flush=True)",
    "    time.sleep(0.05)",
  ].join("\n");
  const run = ckpt(["/usr/bin/python3", "-c", program], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => o.includes("handler ran"));
  expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir })).code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const warnings = run.stderr.split("\n").filter((l) => l.startsWith("ckpt: warning:"));
  expect(warnings).toHaveLength(2);
  expect(warnings[0]).toMatch(/^ckpt: warning: the program blocks signal 12, the checkpoint trigger; a checkpoint waits/);
  expect(warnings[1]).toMatch(/^ckpt: warning: the program installed its own handler for signal 12, the checkpoint trigger; a plain signal now goes to the program/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain("step 39\n");
}, 60000);

// Signal 64 (SIGRTMAX) stops the threads for a checkpoint, but it is the
// program's as well: sigaction answered EINVAL for it, and one the program
// sent itself was dropped where it should have ended the program.
test("signal 64 is the program's too: its handler runs before and after a restart, with no warning; unhandled it ends the program, as without ckpt", async () => {
  const program = [
    "import os, signal, time",
    "seen = []",
    "print('old action', signal.signal(64, lambda s, f: seen.append(s)), flush=True)",
    "for i in range(60):",
    "    print('step', i, 'seen', len(seen), flush=True)",
    "    time.sleep(0.05)",
  ].join("\n");
  const run = ckpt(["/usr/bin/python3", "-c", program], { cwd: dir });
  await run.waitFor((o) => o.includes("step 1 "));
  expect(run.stdout).toContain(`old action ${0}\n`); // SIG_DFL, as without ckpt
  process.kill(run.pid, 64);
  await run.waitFor((o) => o.includes("seen 1\n"));
  process.kill(run.pid, "SIGUSR2"); // the trigger, still ckpt's
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).not.toContain("warning: the program");
  const rest = spawn([CKPT, "restart"], { cwd: dir });
  await rest.waitFor((o) => lines(o) >= 2);
  process.kill(rest.pid, 64);
  await rest.waitFor((o) => o.includes("seen 2\n"));
  expect(await rest.exit()).toBe(0);

  const unhandled = "import os; os.kill(os.getpid(), 64); print('survived')";
  const plain = Bun.spawnSync(["/usr/bin/python3", "-c", unhandled], { cwd: dir });
  const under = Bun.spawnSync([CKPT, "/usr/bin/python3", "-c", unhandled], { cwd: dir });
  expect(plain.signalCode as unknown).toBe(64);
  expect(under.signalCode as unknown).toBe(plain.signalCode as unknown);
  expect(under.stdout.toString()).toBe("");
}, 60000);

test("a handler for signal 64 set by raw system call, in a program with threads: the checkpoint is refused at once, naming it, and the program runs on", async () => {
  const run = ckpt([fixture("raw-stop-handler")], { cwd: dir });
  await run.waitFor((o) => o.includes("step 1 "));
  expect(run.stdout).toContain("raw handler: yes\n");
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(request.code).toBe(1);
  expect(request.stderr.trim()).toMatch(/failed: the program replaced ckpt's handler for signal 64 by a system call of its own, so its threads cannot be stopped; the program continues$/);
  process.kill(run.pid, 64);
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toContain("step 29 seen 1\n");
}, 60000);

// Ruby installs a handler for SIGUSR2 at start; untrapped, the handler puts
// the default back and sends the signal to the process again, to end by
// it. That second signal was taken as a checkpoint request: the image held
// Ruby's last moments, and its restart exited 1 with nothing printed.
test("a program that puts the default back and sends the trigger to itself ends by it, as without ckpt; a plain request from outside still checkpoints", async () => {
  const program = [
    "import os, signal, sys, time",
    "signal.signal(signal.SIGUSR2, lambda *_: None)",
    "signal.signal(signal.SIGUSR2, signal.SIG_DFL)",
    "print('ready', flush=True)",
    "sys.stdin.readline()",
    "os.kill(os.getpid(), signal.SIGUSR2)",
    "print('survived', flush=True)",
  ].join("\n");
  const plain = Bun.spawnSync(["/usr/bin/python3", "-c", program], { cwd: dir, stdin: new TextEncoder().encode("\n") });
  expect(plain.signalCode as unknown).toBe("SIGUSR2");
  const under = ckpt(["/usr/bin/python3", "-c", program], { cwd: dir, stdin: "pipe" });
  await under.waitFor((o) => o.includes("ready"));
  under.proc.stdin!.write("\n");
  under.proc.stdin!.flush();
  await under.exit();
  expect(under.proc.signalCode as unknown).toBe("SIGUSR2");
  expect(under.stdout).not.toContain("survived");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);

  // the same with SA_RESETHAND: the kernel's reset, not the program's call
  const resethand = Bun.spawnSync([CKPT, fixture("resethand-usr2")], { cwd: dir });
  expect(resethand.signalCode as unknown).toBe("SIGUSR2");
  expect(resethand.stdout.toString()).toBe("handled once\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);

  const request = ckpt(["/usr/bin/python3", "-c", program], { cwd: dir, stdin: "pipe" });
  await request.waitFor((o) => o.includes("ready"));
  process.kill(request.pid, "SIGUSR2"); // from outside: a checkpoint, as ever
  expect(await request.exit()).toBe(EXIT_CHECKPOINTED);
}, 60000);

test("ruby: kill -USR2 ends it as without ckpt (Ruby's own handler), `ckpt checkpoint` checkpoints its threads and fiber, and the restart prints what an uninterrupted run prints", async () => {
  const ruby = need("ruby", "ruby");
  const script = [
    "require 'digest/sha2' # loaded here: Digest's autoload of SHA256 from three threads at once races (a NameError, then a deadlock, exit 1)",
    "q = Queue.new",
    "ths = 3.times.map { |t| Thread.new { s = 0; 40.times { |i| s = Digest::SHA256.hexdigest(\"#{s}#{t}#{i}\" * 2000); sleep 0.05 }; q << [t, s] } }",
    "puts 'started'; $stdout.flush",
    "res = 3.times.map { q.pop }.sort",
    "puts res.map { |t, s| \"#{t} #{s[0, 16]}\" }",
    "f = Fiber.new { x = 0; loop { Fiber.yield x += 1 } }",
    "5.times { f.resume }",
    "puts \"fiber #{f.resume}\"",
  ].join("\n");
  // What an uninterrupted run prints, computed here: each thread's chain of SHA-256 digests.
  const chains = [0, 1, 2].map((t) => {
    let s = "0";
    for (let i = 0; i < 40; i++) s = new Bun.CryptoHasher("sha256").update(`${s}${t}${i}`.repeat(2000)).digest("hex");
    return `${t} ${s.slice(0, 16)}`;
  });
  const reference = { stdout: ["started", ...chains, "fiber 6", ""].join("\n") };

  const killed = ckpt([ruby, "-e", script], { cwd: dir });
  await killed.waitFor((o) => o.includes("started"));
  process.kill(killed.pid, "SIGUSR2");
  await killed.exit();
  expect(killed.proc.signalCode as unknown).toBe("SIGUSR2");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);

  const run = ckpt([ruby, "-e", script], { cwd: dir });
  await run.waitFor((o) => o.includes("started"));
  await Bun.sleep(500);
  expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir })).code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(run.stdout + rest.stdout).toBe(reference.stdout);
}, 60000);
