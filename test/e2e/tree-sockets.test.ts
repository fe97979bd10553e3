// Descriptors a tree's processes share beyond pipes and socket pairs
// (docs/process-trees.md, "Descriptors between members"; c/stub/tree_shared.c):
// a listening socket every worker of a pre-fork server accepts on (TCP,
// Unix), a UDP socket they all read, an eventfd, a timerfd and a signalfd
// a parent shares with its child. The restart's root makes each once, from
// its first holder's record, and every holder takes it: clients served before the checkpoint and after the restart get the
// answers of one uninterrupted run, by both workers, with their pids. What
// a restart could not make exactly (a TCP connection, shared)
// stays refused in one line, the program running on, the earlier image
// untouched.
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, ROOT, type Running, runToEnd, spawn, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);
const servers: Server[] = [];
const workers: number[] = []; // a server's workers: when a test fails before its checkpoint, killing the root leaves them
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const pid of workers.splice(0)) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {}
    if (/tree-prefork|tree-listener/.test(cmd)) process.kill(pid, "SIGKILL");
  }
});

const IMAGE = "myckpt.dat";
const memberFiles = () => readdirSync(dir).filter((f) => f.startsWith(`${IMAGE}.`));
const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL|reaped) /.test(l)).sort();

function start(cmd: string[]): Running {
  const run = spawn(cmd, { cwd: dir });
  running.push(run);
  return run;
}

type Target = { port: number } | { path: string } | { udp: number };

/** Whether a UDP socket is bound to 127.0.0.1:port (/proc/net/udp: address, port in hex). */
const udpBound = (port: number) =>
  readFileSync("/proc/net/udp", "utf8").includes(`0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 07`);

/** One datagram, once the port is bound (a restart binds it before any process runs), and its answer. */
async function askUdp(port: number, server: Running): Promise<string> {
  await until(() => udpBound(port) || server.proc.exitCode !== null, () => `port ${port} never bound`);
  if (server.proc.exitCode !== null) throw new Error(`the server ended: ${server.stdout}${server.stderr}`);
  const client = createSocket("udp4");
  return new Promise((ok) => {
    client.on("message", (m) => {
      client.close();
      ok(String(m));
    });
    client.send("hello\n", port, "127.0.0.1");
  });
}

/** One request: connect, send a line, read the answer to EOF. Until the
 * server listens (a restart binds it in its phase 1) a refused connect is
 * tried again, as long as `server` runs. */
async function ask(target: Target, server: Running): Promise<string> {
  if ("udp" in target) return askUdp(target.udp, server);
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`the server ended: ${server.stdout}${server.stderr}`);
    const got = await new Promise<string | null>((ok, fail) => {
      const c = createConnection(target);
      let answer = "";
      c.on("connect", () => c.write("hello\n"));
      c.on("data", (d) => (answer += d));
      c.on("end", () => ok(answer));
      c.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNREFUSED" || e.code === "ENOENT" ? ok(null) : fail(e)));
    });
    if (got !== null) return got;
    await Bun.sleep(10);
  }
}

const answer = /^worker (\d) pid (\d+) count (\d)\n$/;
/** "worker 1 count 2": an answer without its pid, which differs from run to run. */
const served = (a: string) => a.replace(answer, "worker $1 count $3");
const workerPids = (out: string) => [...out.matchAll(/^worker (\d) is pid (\d+)$/gm)].map((m) => Number(m[2]));

const REQUESTS = 6; // three per worker: each ends after its third

async function serveAll(cmd: string[], target: (out: string) => Target) {
  const run = start(cmd);
  await run.waitFor((o) => workerPids(o).length === 2);
  workers.push(...workerPids(run.stdout));
  const answers = [];
  for (let i = 0; i < REQUESTS; i++) answers.push(await ask(target(run.stdout), run));
  return { answers, code: await run.exit(), stdout: run.stdout };
}

/** Serves `before` requests, checkpoints (stop mode), restarts and serves the rest. */
async function serveAcrossRestart(cmd: string[], target: (out: string) => Target, before: number) {
  const run = start(["setsid", CKPT, ...cmd]);
  await run.waitFor((o) => workerPids(o).length === 2);
  workers.push(...workerPids(run.stdout));
  const to = target(run.stdout);
  const answers = [];
  for (let i = 0; i < before; i++) answers.push(await ask(to, run));
  process.kill(run.pid, "SIGUSR2");
  // a refusal leaves the server running: fail on its line rather than wait for an exit
  await until(() => /checkpoint (written|failed)/.test(run.stderr), () => run.stderr);
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(memberFiles()).toHaveLength(2);
  const rest = start([CKPT, "restart"]);
  const after = [];
  for (let i = before; i < REQUESTS; i++) after.push(await ask(to, rest));
  const code = await rest.exit();
  expect(rest.stderr).toBe("");
  return { pids: workerPids(run.stdout), answers, after, code, stdout: run.stdout + rest.stdout, restOut: rest.stdout };
}

const C_SERVERS: [string, string, number][] = [
  ["tcp", "keep", 1],
  ["tcp", "close", 2],
  ["udp", "keep", 2],
  ["udp", "close", 1],
  ["unix", "keep", 2],
  ["unix", "close", 1],
];
for (const [family, parent, before] of C_SERVERS) {
  const who = parent === "keep" ? "the parent and both workers hold it" : "only the workers hold it";
  test(`a C pre-fork server on a ${family} socket (${who}), checkpointed after ${before} request(s): both workers serve on after the restart with their pids`, async () => {
    const args = (path: string) => [fixture("tree-prefork"), family, parent, ...(family === "unix" ? [path] : [])];
    const port = (out: string) => Number(/^port (\d+)$/m.exec(out)![1]);
    const target = (path: string) => (out: string): Target =>
      family === "unix" ? { path } : family === "udp" ? { udp: port(out) } : { port: port(out) };
    const whole = await serveAll(args(join(dir, "whole.sock")), target(join(dir, "whole.sock")));
    expect(whole.code).toBe(7);
    const sock = join(dir, "server.sock");
    const run = await serveAcrossRestart(args(sock), target(sock), before);
    expect(run.code).toBe(7);
    // The same answers as one uninterrupted run: each worker counted 1, 2, 3, none twice.
    expect([...run.answers, ...run.after].map(served).sort()).toEqual(whole.answers.map(served).sort());
    // After the restart both workers accept on the one listener, each with the pid fork gave it.
    const after = run.after.map((a) => answer.exec(a)!);
    expect(new Set(after.map((m) => m[1]))).toEqual(new Set(["1", "2"]));
    for (const m of after) expect(Number(m[2])).toBe(run.pids[Number(m[1]) - 1]!);
    expect(checksOf(run.restOut)).toEqual(checksOf(whole.stdout));
    expect(checksOf(run.restOut)).toEqual([
      "PASS the parent keeps its pid", "reaped worker 1: by its pid, status 11", "reaped worker 2: by its pid, status 12",
    ]);
  }, 90000);
}

test("Python: two multiprocessing workers accepting on the parent's listening socket, checkpointed between requests: they serve on", async () => {
  const script = join(ROOT, "test", "fixtures", "tree-listener.py");
  const port = (out: string): Target => ({ port: Number(/^port (\d+)$/m.exec(out)![1]) });
  const whole = await serveAll(["python3", script], port);
  expect(whole.code).toBe(0);
  const run = await serveAcrossRestart(["python3", script], port, 2);
  expect(run.code).toBe(0);
  expect([...run.answers, ...run.after].map(served).sort()).toEqual(whole.answers.map(served).sort());
  for (const m of run.after.map((a) => answer.exec(a)!)) expect(Number(m[2])).toBe(run.pids[Number(m[1]) - 1]!);
  const reaped = (out: string) => out.split("\n").filter((l) => l.startsWith("reaped "));
  expect(reaped(run.restOut)).toEqual(["reaped worker 1: exit 11", "reaped worker 2: exit 12"]);
}, 90000);

const ROUNDS = 20;
const roundLines = (out: string) => out.split("\n").filter((l) => l.startsWith("round "));
for (const at of [3, 11]) {
  test(`an eventfd, a semaphore eventfd, a timerfd and a signalfd shared by parent and child, checkpointed after round ${at}: every count as uninterrupted`, async () => {
    const whole = await runToEnd([fixture("tree-event-fds"), String(ROUNDS)], { cwd: dir });
    expect(whole.code).toBe(7);
    expect(roundLines(whole.stdout)).toHaveLength(ROUNDS);
    const run = start(["setsid", CKPT, fixture("tree-event-fds"), String(ROUNDS)]);
    await run.waitFor((o) => o.includes(`round ${at} `));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    expect(memberFiles()).toHaveLength(1);
    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(rest.code).toBe(7);
    // The timer fired once a round and the counters read what the parent wrote, once: nothing made twice or lost.
    expect(roundLines(run.stdout + rest.stdout)).toEqual(roundLines(whole.stdout));
    expect(checksOf(rest.stdout)).toEqual(["PASS the child keeps its pid", "PASS the child reaped by its pid, exit 11", "PASS the parent keeps its pid"]);
  }, 90000);
}

// Redis's save child inherits the event loop's epoll and closes the
// listeners it watches: a shared epoll was refused; now its first holder's
// image holds the interest list, and the restart makes the epoll once.
test("an epoll shared by parent and child, whose child closed a watched fd: checkpointed, restarted, both still hold one epoll (the child's new watch reaches the parent)", async () => {
  const whole = await runToEnd([fixture("tree-epoll"), "30", "24"], { cwd: dir });
  expect(whole.code).toBe(0);
  expect(whole.stdout).toContain("C seen 1 times; child exit 0\n");
  const run = start(["setsid", CKPT, fixture("tree-epoll"), "30", "24"]);
  await run.waitFor((o) => o.includes("round 5: "));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(memberFiles()).toHaveLength(1);
  const info = await runToEnd([CKPT, "info", memberFiles()[0]!], { cwd: dir });
  expect(info.stdout).toMatch(/^ +3 +epoll .*its watches in its first holder's image \(shared with pid \d+ fd 3\)$/m);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(roundLines(run.stdout + rest.stdout)).toEqual(roundLines(whole.stdout));
  expect(rest.stdout).toContain("child adds C: ok\n");
  expect(rest.stdout).toContain("C seen 1 times; child exit 0\n");
}, 60000);

const REFUSED: [string, string, RegExp][] = [
  ["tcp", "a TCP connection shared between members", /fd 3 \(a TCP connection\) is the same open file as fd 3 of process \d+ \(tree-share-refu\): such a descriptor shared between processes is not restored yet/],
];
for (const [mode, what, line] of REFUSED) {
  test(`${what} is refused in one line, the program running on, the earlier image untouched`, async () => {
    const server = createServer(() => {});
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = String((server.address() as { port: number }).port);
    const run = start(["setsid", CKPT, "--continue", fixture("tree-share-refused"), mode, "80", "10", port]);
    await run.waitFor((o) => o.includes("tick 2\n"));
    process.kill(run.pid, "SIGUSR2"); // one process yet: this one is written
    await until(() => run.stderr.includes("\n"), () => run.stderr);
    expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; continuing\n$/);
    const earlier = readFileSync(join(dir, IMAGE));
    await run.waitFor((o) => o.includes("forked\n"));
    process.kill(run.pid, "SIGUSR2");
    await until(() => run.stderr.split("\n").length > 2, () => run.stderr);
    expect(await run.exit()).toBe(0);
    const said = run.stderr.split("\n").filter((l) => l !== "").slice(1);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^ckpt: checkpoint failed: /);
    expect(said[0]).toMatch(line);
    expect(said[0]).toMatch(/; the program continues$/);
    expect(run.stdout).toContain("tick 80\n");
    expect(readFileSync(join(dir, IMAGE)).equals(earlier)).toBe(true);
    expect(memberFiles()).toEqual([]);
  }, 60000);
}

// The manager's clients (the program and its pool's workers) reach its
// server process through connections accepted from a named Unix listener:
// refused before, as a connection "through a name".
test("Python: a multiprocessing.Manager dict filled by a ProcessPoolExecutor, checkpointed mid-run: every round's sum as uninterrupted", async () => {
  const script = [join(ROOT, "test", "fixtures", "tree-manager.py"), "24"];
  const whole = await runToEnd(["python3", ...script], { cwd: dir });
  expect(whole.code).toBe(0);
  const run = start([CKPT, "python3", ...script]);
  await run.waitFor((o) => o.includes("round 8:"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).not.toContain("failed");
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  expect(run.stdout + rest.stdout).toBe(whole.stdout);
}, 90000);

// Each worker's connection is from a client outside the tree and named by
// the listener's path: it comes back closed by its peer, still named, made
// by the root before any listener is back. In the forking server only the
// parent holds the listener, which it makes itself as the children start.
for (const [kind, script, who] of [["pre-fork", "tree-unix-prefork.py", "worker"], ["forking", "tree-unix-forking.py", "child"]] as const) {
  test(`a ${kind} Unix-socket server whose processes hold connections from outside clients: after the restart each reads EOF, keeps its name, and the server serves new clients`, async () => {
    const run = start([CKPT, "python3", join(ROOT, "test", "fixtures", script)]);
    await run.waitFor((o) => o.includes("ready\n"));
    const path = join(dir, kind === "pre-fork" ? "prefork.sock" : "forking.sock");
    const clients = [0, 1].map(() => createConnection(path).on("error", () => {}));
    for (const c of clients) c.write("hello");
    await run.waitFor((o) => (o.match(/: hello at/g) ?? []).length === 2);
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    for (const c of clients) c.destroy();
    const rest = start([CKPT, "restart"]);
    await rest.waitFor((o) => (o.match(/then b''/g) ?? []).length === 2);
    const served: string[] = [];
    for (let i = 0; i < (kind === "pre-fork" ? 2 : 1); i++) {
      const again = createConnection(path);
      served.push(await new Promise<string>((ok) => again.on("data", (d) => ok(d.toString()))));
      again.destroy();
    }
    expect(await rest.exit()).toBe(0);
    expect(rest.stderr).toBe("");
    expect(served.sort()).toEqual(kind === "pre-fork" ? ["worker 0 serves again\n", "worker 1 serves again\n"] : ["the parent serves again\n"]);
    expect((run.stdout + rest.stdout).split("\n").sort()).toEqual(
      ["", "done", "ready", `${who} 0: hello at the listener`, `${who} 0: then b''`, `${who} 1: hello at the listener`, `${who} 1: then b''`].sort());
  }, 60000);
}
