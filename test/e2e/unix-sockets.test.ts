// Unix sockets (c/kinds/fd_unix_socket.c): test/fixtures/unix-sockets.c
// holds each state a restart brings back, with unread bytes both ways, is
// checkpointed, shown by `ckpt info`, restarted, and checks every socket
// from inside. The addresses a restart binds again are checked before
// anything is torn down; what cannot come back is refused at checkpoint
// by fd, and the program runs on.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { checkpointRun, CKPT, ckpt, EXIT_CHECKPOINTED, fixture, killStillRunning, runToEnd, spawn, tempDir } from "./harness.ts";

let dir: string;
let cleanup: () => void;
let servers: Server[] = [];
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  cleanup();
});

const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));

/** A Unix stream listener at `path` in this test's process, outside the program. */
async function listenAt(path: string): Promise<Server> {
  const server = createServer((c) => c.on("error", () => {}));
  servers.push(server);
  await new Promise<void>((ok) => server.listen(path, ok));
  return server;
}

async function checkpointSockets(sockets: string) {
  mkdirSync(sockets, { recursive: true });
  const first = await checkpointRun([fixture("unix-sockets"), sockets], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
  return first;
}

test("socketpairs with unread bytes both ways, a listener, bound, connected, abstract and unbound sockets come back; checked from inside", async () => {
  const sockets = join(dir, "s");
  await checkpointSockets(sockets);

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.code).toBe(0);
  expect(info.stdout).toMatch(/^ +3 +unix socket +O_RDWR\|O_NONBLOCK +- +unix stream pair \(6 B unread\)$/m);
  expect(info.stdout).toMatch(/^ +4 +unix socket +O_RDWR +- +unix stream pair \(12 B unread\)$/m);
  expect(info.stdout).toMatch(/^ +6 +unix socket .* unix dgram pair \(20 B unread\)$/m);
  expect(info.stdout).toMatch(/^ +9 +unix socket .* unix stream pair, shut for writing$/m);
  expect(info.stdout).toMatch(new RegExp(`^ +11 +unix socket .* unix stream listening at ${sockets}/listen\\.sock \\(backlog 7\\)$`, "m"));
  expect(info.stdout).toMatch(/^ +12 +unix socket .* unix stream, closed by its peer \(3 B unread\)$/m);
  expect(info.stdout).toMatch(new RegExp(`^ +14 +unix socket .* unix dgram connected to ${sockets}/dgram\\.sock$`, "m"));
  expect(info.stdout).toMatch(/^ +15 +unix socket .* unix dgram bound to @ckpt-test-\d+$/m);
  expect(info.stdout).toMatch(/^ +16 +unix socket .* unix seqpacket unbound$/m);
  expect(info.stdout).toMatch(/^ +17 +unix socket .* as fd 4$/m);

  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  const file = (fd: number) => json.files.find((f: { fd: number }) => f.fd === fd);
  expect(file(4)).toMatchObject({ kind: "unix-socket", unreadBytes: 12, socket: { type: "stream", state: "pair", rcvbuf: 100000 } });
  // three datagrams, each behind its 4-byte length: "one", "", "three"
  expect(file(6)).toMatchObject({ unreadBytes: 20, socket: { type: "dgram", state: "pair" } });
  expect(file(11).socket).toMatchObject({ state: "listening", address: `${sockets}/listen.sock`, backlog: 7 });
  expect(file(13).socket).toMatchObject({ state: "bound", passcred: true });
  expect(file(14).socket).toMatchObject({ state: "connected", peer: `${sockets}/dgram.sock` });
  expect(file(17)).toMatchObject({ sameFileAs: 4, socket: null });

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  const checks = checksOf(rest.stdout);
  expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checks).toHaveLength(31);
  expect(rest.code).toBe(0);
}, 60000);

test("a listening path another process took meanwhile refuses the restart before teardown, naming it; freed, the restart works", async () => {
  const sockets = join(dir, "s");
  await checkpointSockets(sockets);
  const path = join(sockets, "listen.sock");
  unlinkSync(path); // the stale file the program left
  const server = await listenAt(path);
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: fd 11 (a Unix socket at ${path}): that path is in use by another process\n`,
  );
  expect(refused.code).toBe(1);
  await new Promise((ok) => server.close(ok));
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(rest.code).toBe(0);
}, 60000);

test("a socket path now taken by a file, or whose directory is gone, refuses the restart naming it", async () => {
  const sockets = join(dir, "s");
  await checkpointSockets(sockets);
  const path = join(sockets, "dgram.sock");
  unlinkSync(path);
  writeFileSync(path, "not a socket");
  const taken = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(taken.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: fd 13 (a Unix socket at ${path}): that path is taken by a file that is not a socket\n`,
  );
  expect(taken.code).toBe(1);
  rmSync(sockets, { recursive: true });
  const gone = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(gone.stderr).toBe(
    `ckpt: cannot restart ${join(dir, "myckpt.dat")}: fd 11 (a Unix socket at ${join(sockets, "listen.sock")}): ` +
      "cannot bind it there again: No such file or directory\n",
  );
  expect(gone.code).toBe(1);
}, 60000);

test("a client of a server outside the process comes back closed by its peer: its unread bytes, then EOF, and it reconnects", async () => {
  const path = join(dir, "server.sock");
  let connections = 0;
  const received: string[] = [];
  const server = createServer((c) => {
    c.on("error", () => {});
    c.on("data", (d) => received.push(d.toString()));
    c.write(`hello ${++connections}\n`);
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(path, ok));

  const first = await checkpointRun([fixture("unix-client"), path], { cwd: dir, afterLines: 2 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stdout).toBe("PASS connected: writes to the server\nready\n");

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(new RegExp(`^ +3 +unix socket .* unix stream to ${path}, closed by the peer at restart \\(8 B unread\\)$`, "m"));
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  expect(json.files.find((f: { fd: number }) => f.fd === 3)).toMatchObject({
    kind: "unix-socket",
    unreadBytes: 8,
    socket: { type: "stream", state: "peer-closed", address: "", peer: path },
  });

  const second = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(second.stdout).toBe(
    "PASS reads the greeting it had not read\nPASS then EOF: closed by its peer\nPASS a write fails with EPIPE\n" +
      "PASS getpeername: an unnamed peer\nreconnected: hello 2\nPASS reconnected: the server greets it again\n",
  );
  expect(second.stderr).toBe("");
  expect(second.code).toBe(0);
  expect(connections).toBe(2);
  expect(received.join("")).toBe("sent before\n");
}, 60000);

// A bound client's name is its own (bind) and the server is outside: it
// comes back as a closed connection, made through its name
// (c/kinds/fd_unix_named.c), so getsockname and its socket file stay.
test("a bound stream connected to a listener outside the process comes back closed by its peer, its name and socket file kept", async () => {
  const path = join(dir, "outside.sock");
  await listenAt(path);
  const run = ckpt([fixture("unix-sockets"), "connect", path], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const info = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
  expect(info).toMatch(new RegExp(`^ +3 +unix socket .* unix stream at ${path}.client to ${path}, closed by the peer at restart$`, "m"));
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: "" });
  expect(rest.stdout).toBe("PASS getsockname: its own path still\nPASS then EOF: closed by its peer\nPASS a write fails with EPIPE\nPASS its socket file is still there\n");
}, 60000);

test("a descriptor in flight (SCM_RIGHTS): the checkpoint fails naming the socket; the program runs on", async () => {
  const run = ckpt([fixture("unix-sockets"), "rights"], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    "ckpt: checkpoint failed: fd 5 (a Unix socket) has file descriptors (SCM_RIGHTS) in flight, which a restart cannot send " +
      "again; checkpoint once they are read; the program continues\n",
  );
  expect(run.stdout).toBe("ready\nstill running\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

const noPython = !Bun.which("python3");
if (noPython) console.warn("unix-sockets.test.ts: python3 is not installed; its seqpacket server test is skipped");
/** A seqpacket server in python3, outside the program: greets each connection with one message, prints what it receives. */
const SEQPACKET_SERVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen()
print("listening", flush=True)
for n in (1, 2):
    c, _ = s.accept()
    c.send(b"hello %d\\n" % n)
    try:
        while (m := c.recv(64)):
            print("got", m.decode().strip(), flush=True)
    except ConnectionResetError:  # the checkpointed client left its greeting unread
        pass
    c.close()
`;

test.skipIf(noPython)("a seqpacket client of a server outside the process comes back closed by its peer, each unread message whole, and reconnects", async () => {
  const path = join(dir, "seq.sock");
  writeFileSync(join(dir, "server.py"), SEQPACKET_SERVER);
  const server = spawn(["python3", join(dir, "server.py"), path], { cwd: dir });
  try {
    await server.waitFor((o) => o.includes("listening\n"));
    const first = await checkpointRun([fixture("unix-client"), path, "seqpacket"], { cwd: dir, afterLines: 2 });
    expect(first.code).toBe(EXIT_CHECKPOINTED);
    expect(first.stdout).toBe("PASS connected: writes to the server\nready\n");
    const info = await runToEnd([CKPT, "info"], { cwd: dir });
    expect(info.stdout).toMatch(new RegExp(`^ +3 +unix socket .* unix seqpacket to ${path}, closed by the peer at restart \\(12 B unread\\)$`, "m"));

    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(second.stdout).toBe(
      "PASS reads the greeting it had not read\nPASS then EOF: closed by its peer\nPASS a write fails with EPIPE\n" +
        "PASS getpeername: an unnamed peer\nreconnected: hello 2\nPASS reconnected: the server greets it again\n",
    );
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(await server.exit()).toBe(0);
    expect(server.stdout).toBe("listening\ngot sent before\n");
  } finally {
    killStillRunning([server]);
  }
}, 60000);

test.skipIf(noPython)("Python asyncio with sleeps and a queue, checkpointed mid-run: every line once, as without a checkpoint", async () => {
  const script = join(dir, "loop.py");
  writeFileSync(
    script,
    [
      "import asyncio",
      "loop = asyncio.new_event_loop()",
      "queue = asyncio.Queue()",
      "produced = 0",
      "def produce():",
      "    global produced",
      "    queue.put_nowait(produced)",
      "    produced += 1",
      "    loop.call_soon_threadsafe(consume)",
      "    if produced < 40:",
      "        loop.call_later(0.02, produce)",
      "def consume():",
      "    while not queue.empty():",
      "        item = queue.get_nowait()",
      "        print('item', item, item * item, flush=True)",
      "        if item == 39:",
      "            loop.stop()",
      "loop.call_soon(produce)",
      "loop.run_forever()",
      "print('done', flush=True)",
      "",
    ].join("\n"),
  );
  const reference = await runToEnd(["python3", script], { cwd: dir });
  expect(reference.code).toBe(0);
  expect(reference.stdout).toEndWith("item 39 1521\ndone\n");
  const first = await checkpointRun(["python3", script], { cwd: dir, afterLines: 10 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/ unix socket .* unix stream pair$/m); // the self-pipe
  expect(info.stdout).toMatch(/ epoll .* 1 watch: fd \d+ in$/m);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(first.stdout + rest.stdout).toBe(reference.stdout);
}, 60000);

// A connection accepted from a listener, both ends kept: the accepted
// end's name is the listener's path, which a socketpair cannot give, so it
// is made again through that path (c/kinds/fd_unix_named.c). Restarted
// twice: the second checkpoint is of a restarted program, whose accepted
// end's socket file is no longer its listener's.
for (const mode of ["one process", "client in a child"] as const) {
  test(`a connection accepted from a listener, ${mode}: names, unread bytes and a round trip checked from inside after two restarts, the listener still accepting`, async () => {
    const args = [fixture("named-unix-pair"), ...(mode === "one process" ? [] : ["fork"]), "30"];
    const first = await checkpointRun(args, { cwd: dir, afterLines: 3 });
    expect(first.code).toBe(EXIT_CHECKPOINTED);
    const info = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
    expect(info).toContain(`unix stream pair accepted at ${join(dir, "listen.sock")} (9 B unread)`);
    if (mode === "one process") expect(info).toContain(`unix stream pair connected to ${join(dir, "listen.sock")} (9 B unread)`);
    const second = ckpt(["restart"], { cwd: dir });
    await second.waitFor((o) => o.split("\n").length > 4);
    process.kill(second.pid, "SIGUSR2");
    expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
    const third = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect({ code: third.code, stderr: third.stderr }).toEqual({ code: 0, stderr: "" });
    const all = first.stdout + second.stdout + third.stdout;
    expect([...(all.match(/^step \d+$/gm) ?? [])]).toEqual(Array.from({ length: 30 }, (_, i) => `step ${i}`));
    expect(all.split("\n").filter((l) => !l.startsWith("step "))).toEqual(mode === "one process"
      ? ["client: own unnamed, peer path, unread 'to-client', sent, heard ''", "server: own path, peer unnamed, unread 'to-server', sent, heard 'ping'",
        "client heard 'pong'", "listener accepts", ""]
      : ["client: own unnamed, peer path, unread 'to-client', sent, heard 'pong'", "server: own path, peer unnamed, read 'ping', answered; client exit 0",
        "listener accepts", ""]);
  }, 60000);
}

// A Unix-socket server whose client is another program: the accepted end
// comes back as a closed connection, named by its listener's path, as a
// TCP server's connection from outside comes back closed.
test("a server's connection accepted from a client outside the process comes back closed by its peer, keeping its name; the listener greets a new client", async () => {
  const path = join(dir, "listen.sock");
  const run = ckpt([fixture("named-unix-pair"), "serve", "20"], { cwd: dir });
  await run.waitFor((o) => o.includes("listening\n"));
  const client = createConnection(path);
  client.on("error", () => {});
  await new Promise<void>((ok) => client.on("connect", ok));
  client.write("from-outside");
  await run.waitFor((o) => o.includes("step 2\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  client.destroy();
  const info = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
  expect(info).toMatch(new RegExp(`^ +4 +unix socket .* unix stream at ${path}, closed by its peer \\(12 B unread\\)$`, "m"));
  const rest = ckpt(["restart"], { cwd: dir });
  await rest.waitFor((o) => o.includes("server: "));
  const again = createConnection(path);
  const greeting = await new Promise<string>((ok) => again.on("data", (d) => ok(d.toString())));
  again.destroy();
  expect(greeting).toBe("hello again\n");
  expect(await rest.exit()).toBe(0);
  expect(rest.stderr).toBe("");
  expect(rest.stdout.split("\n").filter((l) => !l.startsWith("step "))).toEqual(
    ["server: own path, unread 'from-outside', then EOF, EPIPE", "listener greets a new client", ""]);
}, 60000);
