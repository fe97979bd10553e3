// Restart into a pid namespace (c/stub/pid_namespace.c, supervisor.c): the
// program gets its old pid, its threads their old tids, its parent's pid
// (a stand-in's), checked from inside by test/fixtures/stable-ids.c; the
// pid the shell sees is a supervisor that passes signals on and exits as
// the program did; a checkpoint of the restarted program works by either
// pid, and restarts again; without namespaces the restart says so and
// gives a new pid, as it did before.
import { expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd, spawn } from "./harness.ts";
import { CKPT_ENV_NAMESPACE, CKPT_NAMESPACE_TEST_UNAVAILABLE } from "../../src/protocol/protocol.ts";
import { crc32c } from "../../src/image/crc32c.ts";
import { CKPT_HEADER_SIZE, HEADER } from "../../src/image/format.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
const idsOf = (out: string) => out.split("\n").filter((l) => l.startsWith("ids "));
/** An unprivileged user, for the user-namespace path (the tests run as root). */
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

async function checkpointStableIds(mode: string, prefix: string[] = []) {
  const run = spawn([...prefix, CKPT, fixture("stable-ids"), mode], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  return run.stdout;
}

test("pid, every tid and the parent's pid come back; /proc agrees; owner-recording mutexes unlock", async () => {
  const first = await checkpointStableIds("checks");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checksOf(rest.stdout)).toHaveLength(10);
  expect(idsOf(rest.stdout)).toEqual(idsOf(first));
  expect(rest.code).toBe(0);
}, 60000);

test("as an unprivileged user (a user namespace too): the same ids, and no capabilities gained", async () => {
  chmodSync(dir, 0o777);
  const first = await checkpointStableIds("checks", AS_NOBODY);
  const rest = await runToEnd([...AS_NOBODY, CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(rest.stdout).toContain("PASS capabilities as before the checkpoint");
  expect(checksOf(rest.stdout)).toHaveLength(10);
  expect(idsOf(rest.stdout)).toEqual(idsOf(first));
  expect(rest.code).toBe(0);
}, 60000);

test("kill -TERM to the pid the shell sees reaches the program's handler; its exit code is the restart's", async () => {
  await checkpointStableIds("term");
  const rest = ckpt(["restart"], { cwd: dir });
  await rest.waitFor((o) => o.includes("waiting for SIGTERM\n"));
  process.kill(rest.pid, "SIGTERM");
  expect(await rest.exit()).toBe(3);
  expect(rest.stdout).toEndWith("waiting for SIGTERM\ngot SIGTERM\n");
  expect(rest.stderr).toBe("");
}, 60000);

test("a signal to the restart's process group, or to its pid, reaches the program exactly once", async () => {
  await checkpointStableIds("count");
  // setsid execs in place: the restart leads its own session and group, as a job-control shell makes a job.
  const rest = spawn(["setsid", CKPT, "restart"], { cwd: dir });
  await rest.waitFor((o) => o.includes("waiting for SIGTERM\n"));
  // A real-time signal: copies queue, where two SIGUSR1s close together would merge into one.
  const counted = 34 + 2; // SIGRTMIN + 2 (glibc's SIGRTMIN is 34)
  const got = () => rest.stdout.split("\n").filter((l) => l === "got a counted signal").length;
  process.kill(-rest.pid, counted);
  await rest.waitFor(() => got() >= 1);
  process.kill(rest.pid, counted);
  await rest.waitFor(() => got() >= 2);
  await Bun.sleep(300); // room for a copy passed on twice to arrive
  process.kill(rest.pid, "SIGTERM");
  expect(await rest.exit()).toBe(3);
  expect(got()).toBe(2);
  expect(rest.stderr).toBe("");
}, 60000);

test("a death by signal is the restart's, and so is a plain exit status", async () => {
  await checkpointStableIds("term-default");
  const killed = ckpt(["restart"], { cwd: dir });
  await killed.waitFor((o) => o.includes("waiting for SIGTERM\n"));
  process.kill(killed.pid, "SIGTERM");
  await killed.exit();
  expect(killed.proc.signalCode).toBe("SIGTERM");

  await checkpointStableIds("exit");
  const ended = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(checksOf(ended.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(ended.code).toBe(42);
}, 60000);

test("restart, ckpt checkpoint --continue then plain by the supervisor's pid, restart, kill -USR2 to it, restart: the output continues", async () => {
  const program = [demo("threads-count"), "2", "40"];
  const reference = runToEnd(program, { cwd: dir });
  let out = "";
  const first = await checkpointRun(program, { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  out += first.stdout;

  const second = ckpt(["restart"], { cwd: dir });
  await second.waitFor((o) => lines(out + o) >= 8);
  // Its background writer's pid in the status line is the namespace's own:
  // the request must find that process from out here (pidSeenHere).
  const kept = await runToEnd([CKPT, "checkpoint", "--continue", "--timeout", "20", String(second.pid)], { cwd: dir });
  expect({ code: kept.code, stderr: kept.stderr }).toEqual({ code: 0, stderr: "" });
  expect(kept.stdout).toMatch(/^checkpoint of \d+ written to .*; it continues\n$/);
  const asked = await runToEnd([CKPT, "checkpoint", String(second.pid)], { cwd: dir });
  expect(asked.code).toBe(0);
  expect(asked.stdout).toMatch(/^checkpoint of \d+ written to .*; it stopped with exit status 85\n$/);
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  out += second.stdout;

  const third = ckpt(["restart"], { cwd: dir });
  await third.waitFor((o) => lines(out + o) >= 14);
  process.kill(third.pid, "SIGUSR2");
  expect(await third.exit()).toBe(EXIT_CHECKPOINTED);
  out += third.stdout;

  const last = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(last.code).toBe(0);
  expect(out + last.stdout).toBe((await reference).stdout);
}, 90000);

test("without namespaces the restart says so in one line and restores with a new pid; --new-pid asks for that quietly", async () => {
  await checkpointStableIds("checks");
  const unavailable = await runToEnd([CKPT, "restart"], { cwd: dir, env: { [CKPT_ENV_NAMESPACE]: CKPT_NAMESPACE_TEST_UNAVAILABLE } });
  expect(unavailable.stderr).toMatch(/^ckpt: restarting .*myckpt\.dat with a new pid, not its old \d+: namespaces made unavailable for a test \(CKPT_RESTART_NAMESPACE\)\n$/);
  // Today's single-process restart: a new pid, so tid-recording mutexes fail (EPERM), plain state is back.
  expect(unavailable.stdout).toContain("FAIL getpid unchanged");
  expect(unavailable.stdout).toContain("FAIL the error-checking mutex unlocks");
  expect(unavailable.stdout).toContain("PASS capabilities as before the checkpoint");
  expect(unavailable.code).toBe(1);

  await checkpointStableIds("checks");
  const off = await runToEnd([CKPT, "restart", "--new-pid"], { cwd: dir });
  expect(off.stderr).toBe("");
  expect(off.stdout).toContain("FAIL getpid unchanged");
  expect(off.stdout).toContain("FAIL the recursive mutex unlocks twice");
  expect(off.code).toBe(1);
}, 60000);

test("a parent pid above this kernel's pid_max is refused in one line before teardown; --new-pid restores it", async () => {
  const program = [demo("ticker"), "30"];
  const reference = runToEnd(program, { cwd: dir });
  const first = await checkpointRun(program, { cwd: dir, afterLines: 5 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const image = join(dir, "myckpt.dat");
  const bytes = new Uint8Array(readFileSync(image));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
  view.setInt32(HEADER.fields.ppid.off, pidMax + 1, true);
  view.setUint32(HEADER.fields.header_crc.off, 0, true);
  view.setUint32(HEADER.fields.header_crc.off, crc32c(bytes.subarray(0, CKPT_HEADER_SIZE)), true);
  writeFileSync(image, bytes);

  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${image}: the image's parent pid ${pidMax + 1} is above this kernel's pid_max (${pidMax}): ` +
      "restart with --new-pid to give it a new pid\n",
  );
  expect(refused.stdout).toBe("");
  expect(refused.code).toBe(1);
  const rest = await runToEnd([CKPT, "restart", "--new-pid"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(first.stdout + rest.stdout).toBe((await reference).stdout);
}, 60000);

const noPython = !Bun.which("python3");
if (noPython) console.warn("pid-namespace.test.ts: python3 is not installed; its asyncio test is skipped");
// asyncio's get_running_loop() answers only in the pid that started the
// loop (a fork check): coroutines awaiting across a restart need the old pid.
const ASYNCIO = `
import asyncio
async def producer(q):
    for i in range(30):
        await asyncio.sleep(0.05)
        await q.put(i)
    await q.put(None)
async def consumer(q):
    total = 0
    while (item := await q.get()) is not None:
        total += item
        print(f"item {item} total {total}", flush=True)
    print("done", flush=True)
async def main():
    q = asyncio.Queue()
    await asyncio.gather(producer(q), consumer(q))
asyncio.run(main())
`;

// Closes its stdout mid-run, then waits for the file the reader creates on EOF.
const CLOSER = `
import os, sys, time
for i in range(10):
    print("line", i, flush=True)
    time.sleep(0.05)
os.close(1)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
print("saw the reader's file", file=sys.stderr, flush=True)
`;

test.skipIf(noPython)("a pipe the restored program closes ends at its reader while the program runs on (no copy held by the supervisor, init or the stand-in)", async () => {
  writeFileSync(join(dir, "closer.py"), CLOSER);
  const seen = join(dir, "seen-eof");
  const first = await checkpointRun(["python3", join(dir, "closer.py"), seen], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = Bun.spawn([CKPT, "restart"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  const out = await new Response(rest.stdout).text(); // ends only at EOF: the program must not be waiting for it yet
  writeFileSync(seen, "");
  expect(await rest.exited).toBe(0);
  expect(first.stdout + out).toBe(Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(""));
  expect(await new Response(rest.stderr).text()).toBe("saw the reader's file\n");
}, 60000);

test.skipIf(noPython)("Python asyncio coroutines awaiting sleeps and a queue run on after a restart", async () => {
  writeFileSync(join(dir, "loop.py"), ASYNCIO);
  const program = ["python3", join(dir, "loop.py")];
  const reference = runToEnd(program, { cwd: dir });
  const first = await checkpointRun(program, { cwd: dir, afterLines: 8 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(first.stdout + rest.stdout).toBe((await reference).stdout);
}, 60000);

/** Python that starts an interactive bash on a fresh pseudo-terminal (argv: ckpt, the directory) and reads what it shows. */
const PTY_SESSION = `
import os, pty, select, sys, time
ckpt, where = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
out = b""
def read_until(text, seconds):
    global out
    end = time.time() + seconds
    while text not in out and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try: out += os.read(fd, 4096)
            except OSError: break
`;

/** At a terminal: `ckpt restart` in the foreground, then Ctrl-C, then a command. */
const AT_TERMINAL = PTY_SESSION + `
os.write(fd, f"cd {where}; {ckpt} restart\\n".encode())
read_until(b"waiting for SIGTERM", 20)
os.write(fd, b"\\x03")
time.sleep(0.5)
os.write(fd, b"echo still-$((40+2)); exit\\n")
read_until(b"still-42", 20)
sys.stdout.write(out.decode(errors="replace"))
`;

test.skipIf(noPython)("at a terminal, Ctrl-C ends the restored program and the shell gets its prompt back", async () => {
  await checkpointStableIds("term-default");
  writeFileSync(join(dir, "terminal.py"), AT_TERMINAL);
  const r = await runToEnd(["python3", join(dir, "terminal.py"), CKPT, dir], { cwd: dir });
  expect(r.stdout).toContain("PASS getpid unchanged");
  expect(r.stdout).toMatch(/waiting for SIGTERM[^]*\^C[^]*still-42/);
}, 60000);

/**
 * An interactive bash on a fresh pseudo-terminal: \`ckpt cat\` echoes a line,
 * is checkpointed, restarted in the foreground, echoes a line, is stopped
 * with Ctrl-Z (the shell must get its prompt back), brought back with fg,
 * and must read the terminal again: each line a program echoes appears
 * twice, once from the terminal's echo and once from cat.
 */
const JOB_CONTROL = PTY_SESSION + `
def say(text, then, seconds=20):
    os.write(fd, text)
    read_until(then, seconds)
say(f"cd {where}; PS1='ready$ '; {ckpt} cat\\n".encode(), b"ckpt cat")
time.sleep(0.5)
say(b"line-one\\n", b"line-one\\r\\nline-one")
os.system("pkill -USR2 -x cat")
say(b"", b"ready$ ")
say(f"{ckpt} restart\\n".encode(), b"restart")
time.sleep(1)
say(b"line-two\\n", b"line-two\\r\\nline-two")
say(b"\\x1a", b"Stopped")
say(b"echo prompt-$((40+2))\\n", b"prompt-42")
say(b"fg\\n", b"fg")
time.sleep(1)
say(b"line-three\\n", b"line-three\\r\\nline-three")
say(b"\\x04", b"ready$ ")
say(b"echo status-$?; exit\\n", b"status-")
time.sleep(0.3)
read_until(b"never", 0.5)
sys.stdout.write(out.decode(errors="replace"))
`;

test.skipIf(noPython)("at a terminal, Ctrl-Z stops the restored program and gives the shell its prompt; fg brings it back reading the terminal", async () => {
  writeFileSync(join(dir, "job-control.py"), JOB_CONTROL);
  const r = await runToEnd(["python3", join(dir, "job-control.py"), CKPT, dir], { cwd: dir }, 90000);
  const out = r.stdout.replace(/\r/g, "");
  expect(out).toContain("line-one\nline-one\n");
  expect(out).toContain("line-two\nline-two\n");
  expect(out).toMatch(/Stopped[^]*prompt-42/);
  expect(out).toContain("line-three\nline-three\n");
  expect(out).toContain("status-0");
}, 90000);

