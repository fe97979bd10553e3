// A checkpoint is a handled signal, which ends poll, select, epoll_wait,
// nanosleep and pause with EINTR. Programs that never handle a signal do
// not expect that, and `tail -f` gave up on it. libckpt calls them again
// when the checkpoint alone ended them (c/lib/interrupted_waits.c): after a
// --continue checkpoint and after a restart alike. A signal of the
// program's own still ends them.
import { expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd, type Running } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

async function checkpointContinue(run: Running): Promise<void> {
  const request = await runToEnd([CKPT, "checkpoint", "--continue", String(run.pid)], { cwd: dir });
  expect(request.stderr).toBe("");
  expect(request.code).toBe(0);
}

/** Nothing more than "waiting" for a while: the call did not end. */
async function stillWaiting(run: Running): Promise<void> {
  await Bun.sleep(300);
  expect(run.stdout).not.toContain("ended");
}

for (const mode of ["poll", "ppoll", "select", "pselect", "epoll"]) {
  test(`${mode} on stdin goes on waiting through a --continue checkpoint and ends on its input`, async () => {
    const run = ckpt([fixture("blocking-waits"), mode], { cwd: dir, stdin: "pipe" });
    await run.waitFor((o) => o.includes(`waiting ${mode}`));
    await checkpointContinue(run);
    await stillWaiting(run);
    const stdin = run.proc.stdin as import("bun").FileSink;
    stdin.write("go\n");
    stdin.flush();
    await run.waitFor((o) => o.includes("ended"));
    expect(run.stdout).toMatch(new RegExp(`ended ${mode}: 1 ok`));
    stdin.end();
    expect(await run.exit()).toBe(0);
  }, 60000);
}

test("poll goes on waiting after a restart and ends on the restarted input", async () => {
  const run = ckpt([fixture("blocking-waits"), "poll"], { cwd: dir, stdin: "pipe" });
  await run.waitFor((o) => o.includes("waiting poll"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const rest = ckpt(["restart"], { cwd: dir, stdin: "pipe" });
  await stillWaiting(rest);
  const stdin = rest.proc.stdin as import("bun").FileSink;
  stdin.write("go\n");
  stdin.end();
  expect(await rest.exit()).toBe(0);
  expect(rest.stdout).toMatch(/^ended poll: 1 ok/);
}, 60000);

for (const mode of ["nanosleep", "sleep"]) {
  test(`${mode}(2 s) sleeps its whole time through a --continue checkpoint`, async () => {
    const run = ckpt([fixture("blocking-waits"), mode], { cwd: dir });
    await run.waitFor((o) => o.includes(`waiting ${mode}`));
    await Bun.sleep(500);
    await checkpointContinue(run);
    expect(await run.exit()).toBe(0);
    const m = /ended \w+: 0 ok after (\d+) ms/.exec(run.stdout);
    expect(m).not.toBeNull();
    // Not cut short (no wall-clock ceiling: a loaded machine sleeps longer).
    expect(Number(m![1])).toBeGreaterThanOrEqual(1990);
  }, 60000);
}

test("the program's own signal still ends its wait: pause and poll, after a checkpoint", async () => {
  for (const mode of ["pause", "poll-usr1"]) {
    const run = ckpt([fixture("blocking-waits"), mode], { cwd: dir, stdin: "pipe" });
    await run.waitFor((o) => o.includes(`waiting ${mode}`));
    await checkpointContinue(run);
    await stillWaiting(run);
    process.kill(run.pid, "SIGUSR1");
    await run.waitFor((o) => o.includes("ended"));
    expect(run.stdout).toMatch(new RegExp(`ended ${mode}: -1 Interrupted system call after \\d+ ms \\(SIGUSR1\\)`));
    (run.proc.stdin as import("bun").FileSink).end();
    expect(await run.exit()).toBe(0);
  }
}, 60000);

// dlsym is not async-signal-safe: the wrappers' lookups are the constructor's. With every
// other binding made at start (LD_BIND_NOW), the loader logs no lookup once the handler runs.
test("a program's first nanosleep, ppoll and _Fork, made in its signal handler, look nothing up there", async () => {
  const r = await runToEnd([CKPT, fixture("blocking-waits"), "in-handler"], {
    cwd: dir, env: { LD_BIND_NOW: "1", LD_DEBUG: "symbols" },
  });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("ended in-handler: 0 ok");
  const [, inHandler] = r.stderr.split("handler: first nanosleep, ppoll and _Fork\n");
  expect(inHandler).toBeDefined();
  expect(r.stderr).toMatch(/symbol=nanosleep;/); // the log does show lookups: the constructor's
  expect(inHandler!.match(/symbol=\S+;/g) ?? []).toEqual([]);
});

test("tail -f follows its file through a --continue checkpoint and a restart", async () => {
  const log = join(dir, "log.txt");
  writeFileSync(log, "one\n");
  const run = ckpt(["tail", "-f", log], { cwd: dir });
  await run.waitFor((o) => o.includes("one"));
  await checkpointContinue(run);
  appendFileSync(log, "two\n");
  await run.waitFor((o) => o.includes("two"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const rest = ckpt(["restart"], { cwd: dir });
  await Bun.sleep(300);
  appendFileSync(log, "three\n");
  await rest.waitFor((o) => o.includes("three"));
  expect(rest.stderr).toBe("");
  process.kill(rest.pid, "SIGTERM");
  await rest.exit();
}, 60000);
