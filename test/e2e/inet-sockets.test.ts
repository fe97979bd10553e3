// TCP and UDP sockets (c/kinds/fd_inet_socket.c): servers keep serving
// across a checkpoint and restart (their listening sockets are bound again
// on the same address and port), an address another process took
// meanwhile refuses the restart before anything is torn down and the same
// image restarts once it is free, and a TCP connection, which cannot be
// kept unprivileged, reads as closed by its peer after the restart.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { CKPT, ckpt, EXIT_CHECKPOINTED, fixture, killStillRunning, type Running, tempDir, until } from "./harness.ts";

let dir: string;
let cleanup: () => void;
const running: Running[] = [];
const servers: Server[] = [];
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => {
  killStillRunning(running);
  for (const s of servers.splice(0)) s.close();
  cleanup();
});

/** A TCP server in this test's process on `port` (0: any), listening on 127.0.0.1. */
async function serveHere(port: number, onConnection: (c: import("node:net").Socket) => void = () => {}): Promise<Server> {
  const server = createServer(onConnection);
  servers.push(server);
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return server;
}

async function freePort(): Promise<number> {
  const s = await serveHere(0);
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  servers.splice(servers.indexOf(s), 1);
  return port;
}

function start(cmd: string[]): Running {
  const run = ckpt(cmd, { cwd: dir });
  running.push(run);
  return run;
}

/** The restarted program, once it answers `url`, and its first answer. */
async function restartAnswering(url: string): Promise<{ rest: Running; first: string }> {
  const rest = start(["restart"]);
  for (let i = 0; i < 500 && rest.proc.exitCode === null; i++) {
    const r = await fetch(url, CLOSE).catch(() => null);
    if (r) return { rest, first: await r.text() };
    await Bun.sleep(20);
  }
  throw new Error(`the restarted server never answered; stderr ${JSON.stringify(rest.stderr)}`);
}

/** The sockets `pid` holds open beyond 0-2 (which Bun makes sockets). */
const socketFds = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).filter((n) => Number(n) > 2).filter((n) => { try { return readlinkSync(`/proc/${pid}/fd/${n}`).startsWith("socket:"); } catch { return false; } }).length;

/** Checkpoints the server once it holds its listener only: the connections
 * of the requests above (asked with Connection: close) are closed by then,
 * so the image, and `ckpt info`, hold the listener alone. */
async function checkpoint(run: Running) {
  await until(() => socketFds(run.pid) === 1, () => `${socketFds(run.pid)} sockets open`);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toMatch(/ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
}

const CLOSE = { headers: { Connection: "close" } };

const NODE_SERVER = (port: number) =>
  `let n = 0; require("http").createServer((q, r) => r.end("request " + ++n)).listen(${port}, "127.0.0.1", () => console.log("listening"));`;

test("TCP listeners (IPv4 and IPv6), UDP sockets bound and connected, a connection inside the process: each checked from inside after restart", async () => {
  const run = start([fixture("inet-sockets")]);
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = Bun.spawnSync([CKPT, "info"], { cwd: dir }).stdout.toString();
  expect(info).toMatch(/^ +3 +inet socket +O_RDWR +- +tcp listening at 127\.0\.0\.1:\d+ \(backlog 16\)$/m);
  expect(info).toMatch(/^ +4 +inet socket .* tcp listening at \[::1\]:\d+ \(backlog 3\)$/m);
  expect(info).toMatch(/^ +6 +inet socket .* udp at 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+$/m);
  expect(info).toMatch(/^ +8 +inet socket .* tcp 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+, closed by the peer at restart, 4 B unread$/m);
  const json = JSON.parse(Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir }).stdout.toString());
  expect(json.files.find((f: { fd: number }) => f.fd === 4).socket).toMatchObject({ family: "ipv6", type: "tcp", v6only: true, backlog: 3 });
  expect(json.files.find((f: { fd: number }) => f.fd === 7).socket).toMatchObject({ state: "peer-closed", nodelay: true });
  const rest = start(["restart"]);
  expect(await rest.exit()).toBe(0);
  expect(rest.stderr).toBe("");
  const checks = rest.stdout.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
  expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checks).toHaveLength(10);
}, 60000);

const noPython = !Bun.which("python3");
test.skipIf(noPython)("python3 -m http.server on 127.0.0.1 serves a file before the checkpoint and after the restart", async () => {
  writeFileSync(join(dir, "page.txt"), "the same page\n");
  const port = await freePort();
  const run = start(["python3", "-u", "-m", "http.server", "-b", "127.0.0.1", String(port)]);
  await run.waitFor((o) => o.includes("Serving HTTP"));
  const url = `http://127.0.0.1:${port}/page.txt`;
  expect(await (await fetch(url, CLOSE)).text()).toBe("the same page\n");
  await checkpoint(run);
  const { first } = await restartAnswering(url);
  expect(first).toBe("the same page\n");
  const shown = Bun.spawnSync([CKPT, "info"], { cwd: dir }).stdout.toString();
  expect(shown).toMatch(new RegExp(`^ +3 +inet socket +O_RDWR\\|cloexec +- +tcp listening at 127\\.0\\.0\\.1:${port} \\(backlog 5\\)$`, "m"));
}, 60000);

test("a Node HTTP server answers before the checkpoint and after the restart, its in-memory counter intact", async () => {
  const port = await freePort();
  const run = start(["node", "-e", NODE_SERVER(port)]);
  await run.waitFor((o) => o.includes("listening"));
  const url = `http://127.0.0.1:${port}/`;
  expect(await (await fetch(url, CLOSE)).text()).toBe("request 1");
  expect(await (await fetch(url, CLOSE)).text()).toBe("request 2");
  await checkpoint(run);
  const { first } = await restartAnswering(url);
  expect(first).toBe("request 3");
  expect(await (await fetch(url, CLOSE)).text()).toBe("request 4");
  const json = JSON.parse(Bun.spawnSync([CKPT, "info", "--json"], { cwd: dir }).stdout.toString());
  const listener = json.files.find((f: { kind: string }) => f.kind === "inet-socket");
  expect(listener.socket).toMatchObject({ family: "ipv4", type: "tcp", state: "listening", address: `127.0.0.1:${port}`, reuseaddr: true });
}, 60000);

test("a port another process took meanwhile refuses the restart before teardown, naming the address; freed, a second restart works", async () => {
  const port = await freePort();
  const run = start(["node", "-e", NODE_SERVER(port)]);
  await run.waitFor((o) => o.includes("listening"));
  const url = `http://127.0.0.1:${port}/`;
  expect(await (await fetch(url, CLOSE)).text()).toBe("request 1");
  await checkpoint(run);
  const thief = await serveHere(port);
  const refused = Bun.spawnSync([CKPT, "restart"], { cwd: dir });
  expect(refused.stdout.toString()).toBe("");
  expect(refused.stderr.toString()).toMatch(
    new RegExp(`^ckpt: cannot restart ${join(dir, "myckpt.dat")}: fd \\d+ \\(a TCP socket at 127\\.0\\.0\\.1:${port}\\): that address is in use by another process\\n$`),
  );
  expect(refused.exitCode).toBe(1);
  await new Promise((ok) => thief.close(ok));
  const { first } = await restartAnswering(url);
  expect(first).toBe("request 2");
}, 60000);

test.skipIf(noPython)("a Python client holding a connection to a server outside the tree reads it closed after restart (its unread bytes, then EOF) and reconnects", async () => {
  let connections = 0;
  const server = await serveHere(0, (c) => {
    c.on("error", () => {});
    c.write(++connections === 1 ? "hello 1\nunread part\n" : `hello ${connections}\n`);
  });
  const port = (server.address() as { port: number }).port;
  const client = join(dir, "client.py");
  writeFileSync(
    client,
    [
      "import os, socket, time",
      `s = socket.create_connection(("127.0.0.1", ${port}))`,
      "print('got', s.recv(8), flush=True)",
      // A restart keeps the pid (a pid namespace): the process's start time tells it.
      "started = lambda: open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]",
      "before = started()",
      "print('ready', flush=True)",
      "while started() == before:",
      "    time.sleep(0.01)",
      "rest = b''",
      "while (chunk := s.recv(100)):",
      "    rest += chunk",
      "print('after restart', rest, 'then EOF', flush=True)",
      `s = socket.create_connection(("127.0.0.1", ${port}))`,
      "print('reconnected', s.recv(8), flush=True)",
      "",
    ].join("\n"),
  );
  const run = start(["python3", client]);
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stdout).toBe("got b'hello 1\\n'\nready\n");
  const info = Bun.spawnSync([CKPT, "info"], { cwd: dir }).stdout.toString();
  expect(info).toMatch(new RegExp(`^ +3 +inet socket .* tcp 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${port}, closed by the peer at restart, 12 B unread$`, "m"));
  const rest = start(["restart"]);
  expect(await rest.exit()).toBe(0);
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toBe("after restart b'unread part\\n' then EOF\nreconnected b'hello 2\\n'\n");
}, 60000);
