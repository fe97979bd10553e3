// Memory state beyond readable bytes: data behind PROT_NONE, per-region
// madvise/mlock/mseal state, and shared file views that may be made
// writable. test/fixtures/memory-state.c sets each, waits for a restart (its pid
// changes) and checks it from inside, one PASS/FAIL line per check.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, ckpt, fixture, EXIT_CHECKPOINTED, runToEnd, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(async () => {
  await runToEnd(["chattr", "-i", join(dir, "f")], { cwd: dir }).catch(() => {});
  cleanup();
});

const READY = (o: string) => o.includes("ready\n");
const program = (...args: string[]) => [fixture("memory-state"), ...args];

function letters(path: string, bytes = 8192) {
  writeFileSync(path, Array.from({ length: bytes }, (_, i) => String.fromCharCode(97 + (i % 26))).join(""));
}

/** Launches, checkpoints once ready (stop mode), and returns the stopped run. */
async function checkpointWhenReady(args: string[], ckptArgs: string[] = []) {
  const run = ckpt([...ckptArgs, ...args], { cwd: dir });
  await run.waitFor(READY);
  process.kill(run.pid, "SIGUSR2");
  expect({ code: await run.exit(), stderr: run.stderr }).toEqual({
    code: EXIT_CHECKPOINTED,
    stderr: expect.stringContaining("ckpt: checkpoint written to"),
  });
  return run;
}

function expectAllPass(out: string, atLeast: number) {
  const results = out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  expect(results.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(atLeast);
}

test("data written and then protected PROT_NONE comes back, anonymous and private file copy alike", async () => {
  letters(join(dir, "f"));
  await checkpointWhenReady(program("protnone", join(dir, "f")));
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/---p +12\.0 KiB +anon +8\.0 KiB +4\.0 KiB +- +- +\(no read permission\)$/m);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stderr).toBe("");
  expectAllPass(second.stdout, 4);
  expect(second.code).toBe(0);
}, 60000);

test("with --continue the background writer saves PROT_NONE data from its own copy", async () => {
  letters(join(dir, "f"));
  const run = ckpt(["--continue", ...program("protnone", join(dir, "f"))], { cwd: dir });
  await run.waitFor(READY);
  process.kill(run.pid, "SIGUSR2");
  const deadline = Date.now() + 20000;
  while (!run.stderr.includes("checkpoint written to") && Date.now() < deadline) await Bun.sleep(10);
  expect(run.stderr).toContain("continuing");
  await run.waitFor((o) => o.includes("overwrote the protected data"));
  run.proc.kill("SIGKILL");
  await run.done;
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stderr).toBe("");
  expectAllPass(second.stdout, 4);
  expect(second.code).toBe(0);
}, 60000);

const ADVICE = [["dc", "dontfork"], ["wf", "wipeonfork"], ["dd", "dontdump"], ["hg", "hugepage"], ["nh", "nohugepage"],
  ["mg", "mergeable"], ["sr", "sequential"], ["rr", "random"], ["lo", "mlock"], ["lf", "mlock onfault"], ["sl", "sealed"]];

/** The advice the kernel here took (KSM and mseal may be missing), said when some was not. */
function adviceTaken(out: string) {
  const skipped = out.split("\n").filter((l) => l.startsWith("skip "));
  for (const line of skipped) console.log(`memory-state advice: ${line} (not checked)`);
  return ADVICE.filter(([flag]) => !skipped.some((l) => l.startsWith(`skip ${flag}:`)));
}

test("madvise, mlock and mseal state of each region comes back, and ckpt info shows it", async () => {
  const first = await checkpointWhenReady(program("advice"));
  const taken = adviceTaken(first.stdout);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  for (const [, name] of taken) expect(info.stdout).toMatch(new RegExp(`anon .* \\[${name}\\]$`, "m"));
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  expect(json.regions.filter((r: { vmFlags: string[] }) => r.vmFlags.length > 0).length).toBe(taken.length);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stderr).toBe("");
  expectAllPass(second.stdout, 2 * taken.length + 2);
  expect(second.code).toBe(0);
}, 60000);

test("a restart that could not lock the program's mlocked memory is refused before anything is torn down", async () => {
  const probe = await runToEnd(["setpriv", "--bounding-set=-ipc_lock", "true"], { cwd: dir });
  if (probe.code !== 0) {
    console.log(`skipped: setpriv cannot drop CAP_IPC_LOCK here (${probe.stderr.trim()})`);
    return;
  }
  await checkpointWhenReady(program("advice"));
  const refused = await runToEnd(
    ["prlimit", "--memlock=0:0", "setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock", CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toMatch(/^ckpt: cannot restart .*myckpt\.dat: the program had \d+ bytes of memory locked \(mlock; region 0x[0-9a-f]+-0x[0-9a-f]+ among them\), more than this restart's RLIMIT_MEMLOCK of 0 bytes; raise it \(ulimit -l\) or restart with CAP_IPC_LOCK\n$/);
  // The image is untouched and restarts where the limit allows.
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expectAllPass(second.stdout, 4);
  expect(second.code).toBe(0);
}, 60000);

test("a read-only shared view of a file opened O_RDWR can be made writable after a restart", async () => {
  letters(join(dir, "f"));
  await checkpointWhenReady(program("sharedfile", join(dir, "f")));
  expect((await runToEnd([CKPT, "info"], { cwd: dir })).stdout).toMatch(/r--s .*\/f \[maywrite\]$/m);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stderr).toBe("");
  expectAllPass(second.stdout, 2);
  expect(readFileSync(join(dir, "f"), "utf8").slice(0, 7)).toBe("CHANGED");
}, 60000);

test("a 64 GiB PROT_NONE reservation and a 64 GiB MAP_NORESERVE mapping come back uncharged, as does a read-only page written through /proc/PID/mem", async () => {
  await checkpointWhenReady(program("reserve"));
  expect((await runToEnd([CKPT, "info"], { cwd: dir })).stdout).toMatch(/rw-p +64\.0 GiB +anon .* \[noreserve\]$/m);
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stderr).toBe("");
  expectAllPass(second.stdout, 6);
  expect(second.code).toBe(0);
}, 60000);

test("a checkpoint while mlockall(MCL_FUTURE) is in force is refused, and the program runs on", async () => {
  const run = ckpt(program("mlockall"), { cwd: dir });
  await run.waitFor(READY);
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => o.includes("still running"));
  expect(run.stderr).toBe("ckpt: checkpoint failed: mlockall(MCL_FUTURE) is in force, and a restart would not lock memory mapped after it; lock regions with mlock, or call mlockall(MCL_CURRENT) alone; the program continues\n");
  expect(run.proc.exitCode).toBe(null);
  run.proc.kill("SIGKILL");
  await run.done;
}, 60000);

/** chattr +i makes a file unwritable even for root; false where the filesystem has no such flag. */
async function makeImmutable(path: string): Promise<boolean> {
  const r = await runToEnd(["chattr", "+i", path], { cwd: dir }).catch(() => ({ code: 1, stderr: "chattr missing" }));
  if (r.code !== 0) console.log(`skipped: chattr +i does not work here (${r.stderr.trim()})`);
  return r.code === 0;
}

test("the checkpoint is refused, naming the file, when a shared view that may be made writable maps a file not writable now", async () => {
  const f = join(dir, "f");
  letters(f);
  const run = ckpt(program("sharedfile", f), { cwd: dir });
  await run.waitFor(READY);
  if (!(await makeImmutable(f))) {
    run.proc.kill("SIGKILL");
    return;
  }
  process.kill(run.pid, "SIGUSR2");
  const deadline = Date.now() + 20000;
  while (!run.stderr.includes("\n") && Date.now() < deadline) await Bun.sleep(10);
  expect(run.stderr).toMatch(new RegExp(`^ckpt: checkpoint failed: shared mapping 0x[0-9a-f]+-0x[0-9a-f]+ of ${f} may be made writable, but the file is not writable now \\((Permission denied|Operation not permitted)\\): a restart could not map it so; .*; the program continues\\n$`));
  expect(run.proc.exitCode).toBe(null);
  run.proc.kill("SIGKILL");
  await run.done;
}, 60000);

test("a restart is refused before teardown when that file can no longer be opened for writing", async () => {
  const f = join(dir, "f");
  letters(f);
  await checkpointWhenReady(program("sharedfile", f));
  if (!(await makeImmutable(f))) return;
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toMatch(new RegExp(`^ckpt: cannot restart .*myckpt\\.dat: mapped file ${f} cannot be opened for writing \\(Operation not permitted\\), and its shared mapping 0x[0-9a-f]+-0x[0-9a-f]+ may be made writable; make it writable by this user\\n$`));
}, 60000);


/** What `ckpt info --json` says the largest anonymous region of ./myckpt.dat stores, by kind. */
function largestAnonStored(): { data: number; zero: number } {
  const info = JSON.parse(Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir }).stdout.toString());
  const anon = info.regions.filter((r: { kind: string }) => r.kind === "anon");
  return anon.sort((a: { size: number }, b: { size: number }) => b.size - a.size)[0].stored;
}

for (const how of ["a stopping checkpoint", "--continue's background writer"]) {
  test(`pages of zeros, read but never written, are not stored by ${how}, and read as zeros and take writes after the restart`, async () => {
    const args = [fixture("zero-page-reads")];
    if (how.startsWith("a stopping")) {
      await checkpointWhenReady(args);
    } else {
      const run = ckpt(["--continue", ...args], { cwd: dir });
      await run.waitFor(READY);
      process.kill(run.pid, "SIGUSR2");
      const deadline = Date.now() + 20000;
      while (!run.stderr.includes("checkpoint written to") && Date.now() < deadline) await Bun.sleep(10);
      expect(run.stderr).toContain("continuing");
      run.proc.kill("SIGKILL");
      await run.done;
    }
    // 1 MiB written of 32 MiB read: the other 31 come back untouched.
    const stored = largestAnonStored();
    expect(stored.data).toBeLessThan(2 << 20);
    expect(stored.zero).toBeGreaterThanOrEqual(31 << 20);
    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect({ stderr: second.stderr, code: second.code }).toEqual({ stderr: "", code: 0 });
    expect(second.stdout).toBe(
      "PASS the written megabyte and the zeros read back as before\n" +
        "PASS every byte that was only read is zero\n" +
        "PASS a page that was only read takes writes\n",
    );
  }, 60000);
}
