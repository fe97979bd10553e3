// Signal-driven I/O (O_ASYNC, c/kinds/fd_async.c): a descriptor's owner and
// signal come back, checked from inside the program; an owner the restart
// could not name is refused at checkpoint; and nginx, whose master and
// workers talk over O_ASYNC socket pairs, is checkpointed and restarted
// whole, then reloads and quits as it would have.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, need, type Running, runToEnd, spawn } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

test("a socket pair sending signal 40 to the process and one sending SIGIO to its group: owners, signals and O_ASYNC come back, and so do the signals", async () => {
  const reference = await runToEnd([fixture("async-io"), "12"], { cwd: dir });
  expect(reference.code).toBe(0);
  expect(reference.stdout).toContain("step 11: rt 12 (fd ok) io 12; owners self group, signals 40 0, async 1 1\n");
  const run = ckpt([fixture("async-io"), "12"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 3);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info", "myckpt.dat"], { cwd: dir });
  expect(info.stdout).toMatch(/O_ASYNC\(signal 40 to itself\)/);
  expect(info.stdout).toMatch(/O_ASYNC\(SIGIO to its group\)/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(run.stdout + rest.stdout).toBe(reference.stdout);
}, 60000);

test("signal-driven I/O aimed at another process is refused at checkpoint, naming the fd, and the program runs on", async () => {
  const program = [
    "import fcntl, os, socket, time",
    "a, b = socket.socketpair()",
    "fcntl.fcntl(a, fcntl.F_SETOWN, os.getppid())",
    "fcntl.fcntl(a, fcntl.F_SETFL, fcntl.fcntl(a, fcntl.F_GETFL) | os.O_ASYNC)",
    "for i in range(40):",
    "    print('step', i, flush=True); time.sleep(0.05)",
  ].join("\n");
  const run = ckpt(["--continue", "/usr/bin/python3", "-c", program], { cwd: dir });
  running.push(run);
  await run.waitFor((o) => o.includes("step 1\n"));
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(request.code).toBe(1);
  expect(request.stderr).toMatch(/fd \d+ \(socket:\[\d+\]: signal-driven I\/O \(O_ASYNC\) to a process other than this one, its group or its tree's root\)/);
  expect(request.stderr.trim()).toEndWith("the program continues");
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toContain("step 39\n");
}, 60000);

/** An nginx whose master and two workers serve `port` from `dir`. */
function nginxConfig(port: number): string {
  for (const sub of ["logs", "tmp"]) mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, [
    "daemon off;",
    "user root;", // workers as root when started as root: ckpt refuses members under other ids
    "worker_processes 2;",
    `error_log ${dir}/logs/error.log;`,
    `pid ${dir}/nginx.pid;`,
    "events { worker_connections 64; }",
    "http {",
    `  access_log ${dir}/logs/access.log;`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`),
    `  server { listen 127.0.0.1:${port}; location / { return 200 "worker $pid\\n"; } }`,
    "}",
  ].join("\n"));
  return conf;
}

async function get(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
  return r.text();
}

/** Polls an asynchronous condition, as harness.ts's until does a plain one. */
async function eventually(ready: () => Promise<boolean>, what: () => string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await Bun.sleep(20);
  }
}

test("nginx, a master and two workers on O_ASYNC socket pairs: checkpointed, restarted, it serves, reloads on SIGHUP with new workers, and quits on SIGQUIT with status 0", async () => {
  const nginx = need("/usr/sbin/nginx", "nginx-light");
  const port = 20000 + (process.pid % 20000);
  const conf = nginxConfig(port);
  const run = ckpt([nginx, "-c", conf, "-p", dir], { cwd: dir });
  running.push(run);
  let answer = "";
  await eventually(async () => { answer = await get(port).catch(() => ""); return answer.startsWith("worker "); }, () => `no answer: ${run.stderr}`);
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(request.code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info", "myckpt.dat"], { cwd: dir });
  expect(info.stdout).toContain("tree       root of 3 processes");

  const rest = spawn([CKPT, "restart"], { cwd: dir });
  running.push(rest);
  const served = new Set<string>();
  await eventually(async () => { served.add(await get(port).catch(() => "")); return [...served].some((s) => s.startsWith("worker ")); }, () => `restart: ${rest.stderr}`);
  const before = [...served].filter((s) => s.startsWith("worker "));
  expect(before.length).toBeGreaterThan(0);

  const master = Number((await runToEnd(["pgrep", "-f", `^nginx: master process .*${dir}`], { cwd: dir })).stdout.trim());
  expect(master).toBeGreaterThan(0);
  const kids = async () => (await runToEnd(["pgrep", "-P", String(master)], { cwd: dir })).stdout.trim().split("\n").filter(Boolean).sort();
  const old = await kids();
  expect(old).toHaveLength(2);
  process.kill(master, "SIGHUP"); // reload: new workers, told over the channels
  await eventually(async () => { const now = await kids(); return now.length === 2 && now.every((k) => !old.includes(k)); }, () => "no new workers");
  expect(await get(port)).toMatch(/^worker \d+\n$/);
  process.kill(master, "SIGQUIT");
  expect(await rest.exit()).toBe(0);
  // No reminder at exit, as in a run never checkpointed (the master's fd 2 is
  // its error log by then); the restarted workers, forked, said none either.
  expect(rest.stderr).not.toContain("ckpt: note:");
}, 90000);
