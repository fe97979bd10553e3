// TCP and UDP sockets (c/kinds/fd_inet_socket.c): servers keep serving
// across a checkpoint and restart (their listening sockets are bound again
// on the same address and port), an address another process took
// meanwhile refuses the restart before anything is torn down and the same
// image restarts once it is free, and a TCP connection (not restored yet)
// refuses the checkpoint naming both addresses, the program running on.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { CKPT, ckpt, EXIT_CHECKPOINTED, killStillRunning, type Running, tempDir, until } from "./harness.ts";

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
 * and a connection would refuse the checkpoint (not restored yet). */
async function checkpoint(run: Running) {
  await until(() => socketFds(run.pid) === 1, () => `${socketFds(run.pid)} sockets open`);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(run.stderr).toMatch(/ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
}

const CLOSE = { headers: { Connection: "close" } };

const NODE_SERVER = (port: number) =>
  `let n = 0; require("http").createServer((q, r) => r.end("request " + ++n)).listen(${port}, "127.0.0.1", () => console.log("listening"));`;

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

test.skipIf(noPython)("a TCP connection to a server outside the program: the checkpoint fails naming both addresses; the program runs on", async () => {
  const server = await serveHere(0, () => {});
  const port = (server.address() as { port: number }).port;
  const client = join(dir, "client.py");
  writeFileSync(
    client,
    `import socket, time\ns = socket.create_connection(("127.0.0.1", ${port}))\nprint("connected", flush=True)\ntime.sleep(60)\n`,
  );
  const run = start(["python3", client]);
  await run.waitFor((o) => o.includes("connected\n"));
  process.kill(run.pid, "SIGUSR2");
  await until(() => run.stderr.includes("\n"), () => `no report; stderr ${JSON.stringify(run.stderr)}`);
  expect(run.stderr).toMatch(
    new RegExp(
      `^ckpt: checkpoint failed: fd 3 \\(socket:\\[\\d+\\]: a TCP connection from 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${port}, ` +
        "which ckpt does not restore yet\\) was opened by the program and cannot be restored; --drop-unsupported-fds closes such fds at restart instead; the program continues\\n$",
    ),
  );
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
  expect(run.proc.exitCode).toBe(null); // runs on; killed after the test
}, 60000);
