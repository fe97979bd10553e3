// A program reached through wrappers that exec it in their place (env,
// nice, nohup, setsid, stdbuf, a `#!/usr/bin/env python3` script, a shell
// script's `exec`) is the one checkpointed: same pid, its handler, its
// status line, so both `kill -USR2` and `ckpt checkpoint PID` work, and the
// restart continues its output exactly. Children are members of the tree:
// they act only on the root's request.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, muslFixture, need, type Running, runToEnd, spawn, tempDir, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const N = 40;
let straight = "";
beforeAll(async () => {
  const { dir: d, cleanup: c } = tempDir();
  straight = (await runToEnd([demo("ticker"), String(N)], { cwd: d })).stdout;
  c();
});

/** Checkpoints `run` one of the two ways once it has printed 10 lines; returns what ckpt checkpoint said, if used. */
async function checkpoint(run: Running, how: "kill" | "command"): Promise<void> {
  await run.waitFor((o) => lines(o) >= 10);
  if (how === "kill") process.kill(run.pid, "SIGUSR2");
  else {
    const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`checkpoint of ${run.pid} written to ${join(dir, "myckpt.dat")}`);
  }
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
}

const wrappers: [string, () => string[]][] = [
  ["env X=1", () => ["env", "X=1"]],
  ["nice", () => ["nice"]],
  ["nohup", () => ["nohup"]],
  ["setsid", () => ["setsid"]],
  ["stdbuf -oL", () => ["stdbuf", "-oL"]],
  ["a sh script that execs (a pyenv-style shim)", () => {
    const script = join(dir, "wrap.sh");
    writeFileSync(script, '#!/bin/sh\nexport X=1\nexec "$@"\n', { mode: 0o755 });
    return [script];
  }],
];

describe("through a wrapper the program is checkpointed and restarted", () => {
  for (const [name, prefix] of wrappers) {
    for (const how of ["kill", "command"] as const) {
      test(`${name}, ${how === "kill" ? "kill -USR2" : "ckpt checkpoint PID"}`, async () => {
        const words = prefix();
        const run = ckpt([...words, demo("ticker"), String(N)], { cwd: dir });
        await checkpoint(run, how);
        const second = await runToEnd([CKPT, "restart"], { cwd: dir });
        expect(second.code).toBe(0);
        // The ticker's checksum runs over its heap: the same lines as a straight run.
        expect(run.stdout + second.stdout).toBe(straight);
      }, 30000);
    }
  }
});

const noPython = !Bun.which("python3");
if (noPython) console.warn("exec-chain.test.ts: python3 is not installed; its test is skipped");
test.skipIf(noPython)("a `#!/usr/bin/env python3` script, checkpointed both ways and restarted twice", async () => {
  const script = join(dir, "count.py");
  await Bun.write(script, "#!/usr/bin/env python3\nimport time\nfor i in range(60):\n    print(i, flush=True)\n    time.sleep(0.02)\n");
  chmodSync(script, 0o755);
  const run = ckpt([script], { cwd: dir });
  await checkpoint(run, "kill");
  const second = ckpt(["restart"], { cwd: dir });
  await second.waitFor((o) => lines(o) >= 5);
  const r = await runToEnd([CKPT, "checkpoint", String(second.pid)], { cwd: dir });
  expect(r.code).toBe(0);
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  const third = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(third.code).toBe(0);
  const all = (run.stdout + second.stdout + third.stdout).split("\n").slice(0, -1);
  expect(all).toEqual(Array.from({ length: 60 }, (_, i) => String(i)));
}, 60000);

test("children see no trace of ckpt, and a signal to the process group never makes a child act on its own", async () => {
  // Every child is a member of the tree now (libckpt loaded, CKPT_PID the
  // root's), yet its environment holds nothing of ckpt's, even after
  // `env -i`. A subshell (forked, with libckpt's handler) and an exec'd
  // sleep that ignores the signal keep running through a group signal,
  // whatever the root's checkpoint of the tree decides: only the root's
  // request makes a member act, and without ckpt the subshell would have
  // died of SIGUSR2.
  const script = [
    "env | grep -c -E '^(LD_PRELOAD|CKPT_)' || true",
    "env -i /usr/bin/env | grep -c -E '^(LD_PRELOAD|CKPT_)' || true",
    // yet a member: libckpt loaded even through env -i, the trigger (held
    // blocked across the exec) unblocked again by the new program's libckpt
    // (exec: a waiting dash blocks every signal for a moment)
    "env -i /bin/sh -c 'grep -c libckpt /proc/$$/maps; exec grep ^SigBlk: /proc/self/status'",
    "( while :; do echo tick; sleep 0.05; done ) & sub=$!",
    "(trap '' USR2; exec sleep 1000) & keep=$!",
    "echo started",
    "wait $sub; echo \"sub ended $?\"; kill $keep",
  ].join("\n");
  const run = spawn(["setsid", CKPT, "--continue", "bash", "-c", script], { cwd: dir });
  try {
    await run.waitFor((o) => o.includes("started"));
    expect(run.stdout).toMatch(/^0\n0\n[1-9]\d*\nSigBlk:\s+0+\n/);
    process.kill(-run.pid, "SIGUSR2");
    await run.waitFor(() => /^ckpt: checkpoint (failed|written)/m.test(run.stderr));
    const ticks = () => (run.stdout.match(/^tick$/gm) ?? []).length;
    const before = ticks();
    await run.waitFor(() => ticks() > before + 3); // the subshell runs on
    expect(run.stdout).not.toContain("sub ended");
    expect(run.stderr.match(/^ckpt: checkpoint/gm)!.length).toBe(1); // the root's line alone
  } finally {
    try {
      process.kill(-run.pid, "SIGKILL");
    } catch {}
  }
}, 30000);

const FUNCTIONS = ["execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "fexecve"];

test("through every glibc exec function in turn: checkpointed and restarted, and no program in the chain sees ckpt's variables", async () => {
  // exec-via's execl forms pass on at most four arguments: the chain grows by two words per hop.
  let program = [demo("ticker"), String(N)];
  for (const f of FUNCTIONS.filter((f) => !f.startsWith("execl"))) program = [fixture("exec-via"), f, ...program];
  for (const f of ["execl", "execlp", "execle"]) {
    const run = ckpt([fixture("exec-via"), f, demo("ticker"), String(N)], { cwd: dir });
    await checkpoint(run, "kill");
    expect(run.stderr).toStartWith(`exec-via ${f}: clean\n`);
    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(second.code).toBe(0);
    expect(run.stdout + second.stdout).toBe(straight);
  }
  const run = ckpt(program, { cwd: dir });
  await checkpoint(run, "command");
  expect(run.stderr.split("\n").filter((l) => l.startsWith("exec-via"))).toEqual(
    ["fexecve", "execvpe", "execvp", "execv", "execve"].map((f) => `exec-via ${f}: clean`),
  );
  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.code).toBe(0);
  expect(run.stdout + second.stdout).toBe(straight);
}, 60000);

test("the user's LD_PRELOAD is what the program and its children see; ckpt's entry and CKPT_* are not", async () => {
  const user = "/lib/x86_64-linux-gnu/libdl.so.2"; // any library that exists: preloaded, harmless
  const r = await runToEnd([CKPT, fixture("exec-via"), "execvp", "sh", "-c", "env | grep -E '^(LD_PRELOAD|CKPT_)'; sh -c 'env | grep -c CKPT_'"], {
    cwd: dir,
    env: { LD_PRELOAD: user },
  });
  expect(r.stderr).toBe("exec-via execvp: clean\n".replace("clean", `sees LD_PRELOAD=${user}`));
  expect(r.stdout).toBe(`LD_PRELOAD=${user}\n0\n`);
});

test.skipIf(noPython)("after a restart (a new pid) the program still passes checkpointing on through an exec", async () => {
  const script = join(dir, "then-exec.py");
  await Bun.write(script, [
    "import os, sys, time",
    "for i in range(30):",
    "    print('py', i, flush=True)",
    "    time.sleep(0.02)",
    `os.execv(${JSON.stringify(demo("ticker"))}, ['ticker', '${N}'])`,
    "",
  ].join("\n"));
  const run = ckpt(["/usr/bin/python3", script], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 5);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const second = ckpt(["restart"], { cwd: dir });
  await second.waitFor((o) => /^10 /m.test(o)); // the ticker, exec'd by the restarted python
  const r = await runToEnd([CKPT, "checkpoint", String(second.pid)], { cwd: dir });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  const third = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(third.code).toBe(0);
  const out = run.stdout + second.stdout + third.stdout;
  expect(out).toBe(Array.from({ length: 30 }, (_, i) => `py ${i}\n`).join("") + straight);
}, 60000);

// Nothing loads libckpt into a static program exec'd in the launched pid's
// place, so the trigger has no handler there: ckpt says so at the exec,
// and `ckpt checkpoint` sends nothing rather than end the program.
const staticCount = muslFixture("count", "static");
test.skipIf(!staticCount)("a script that execs a static program in its place: warned at the exec, `ckpt checkpoint` refused without a signal, the program runs to its end", async () => {
  const run = ckpt(["/bin/sh", "-c", `exec ${staticCount} 150`], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 5);
  const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^ckpt: process ${run.pid} \\(count-musl-static\\) now runs ${staticCount}, a statically linked program ckpt cannot be loaded into: .*No signal was sent\\n$`));
  expect(await run.exit()).toBe(0);
  expect(lines(run.stdout)).toBe(151);
  expect(run.stdout).toStartWith("0 7\n1 15\n");
  expect(run.stdout).toEndWith("\ndone, heap intact\n");
  expect(run.stderr).toBe(`ckpt: warning: ${staticCount} is statically linked, so ckpt cannot be loaded into it: the program cannot be checkpointed while it runs, and a checkpoint signal may end it\n`);
}, 60000);

// valgrind's launcher execs its tool (static), which runs the program on a
// synthetic CPU with LD_PRELOAD passed on: libckpt's handler runs in the
// guest, where the process, its maps and threads are valgrind's. Both ways
// of asking are refused, and the program runs on to its end.
test("a program under valgrind: kill -USR2 and `ckpt checkpoint` each refused in one line, the program runs on to an uninterrupted run's output", async () => {
  const valgrind = need("valgrind", "valgrind");
  const run = ckpt([valgrind, "-q", "--vgdb=no", demo("ticker"), String(N)], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  await until(() => run.stderr.includes("checkpoint failed"), () => run.stderr);
  const r = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^ckpt: process \d+ \(valgrind\.bin\) runs under valgrind \(.*memcheck-amd64-linux\), whose process ckpt cannot capture; .*No signal was sent\n$/);
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe(straight);
  expect(run.stderr).toMatch(/^ckpt: warning: \S*memcheck-amd64-linux is statically linked, so ckpt cannot be loaded into it: [^\n]*\nckpt: checkpoint failed: the program runs under valgrind, [^\n]*; the program continues\n$/);
}, 90000);
