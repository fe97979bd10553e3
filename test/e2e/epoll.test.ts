// epoll (CKPT_FD_EPOLL, c/kinds/fd_epoll.c): an event loop's epolls come
// back with their interest lists, and the program checks from inside what
// epoll_wait reports after the restart (test/fixtures/epoll-loop.c). What
// cannot come back exactly is refused at checkpoint, naming the epoll and
// the fd it watches, while the program runs on.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const textLines = (out: string) => out.split("\n").slice(0, -1);

test("level, edge, oneshot (fired and armed), nested and dup'd epolls come back with their watches and data", async () => {
  const first = await checkpointRun([fixture("epoll-loop")], { cwd: dir, afterLines: 2 });
  expect(first.stderr).not.toContain("warning");
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stdout).toBe("PASS the oneshot fires before the checkpoint\nready\n");

  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.code).toBe(0);
  // fds 3-12: five pipes; 13 the epoll, 14 the nested one, 15 the dup.
  expect(info.stdout).toMatch(
    /^ +13 +epoll +O_RDWR\|cloexec +- +5 watches: fd 3 in, fd 5 in\|et, fd 7 oneshot \(fired\), fd 9 in\|oneshot, fd 14 in$/m,
  );
  expect(info.stdout).toMatch(/^ +14 +epoll +O_RDWR +- +1 watch: fd 11 in$/m);
  expect(info.stdout).toMatch(/^ +15 +epoll +O_RDWR +- +as fd 13$/m); // dup() leaves close-on-exec off
  const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
  const epolls = json.files.filter((f: { kind: string }) => f.kind === "epoll");
  expect(epolls.map((f: { watches: unknown }) => f.watches)).toEqual([
    [
      { fd: 3, events: ["in", "err", "hup"], data: "0x1111" },
      { fd: 5, events: ["in", "err", "hup", "et"], data: "0x2222" },
      { fd: 7, events: ["oneshot"], data: "0x3333" },
      { fd: 9, events: ["in", "err", "hup", "oneshot"], data: "0x4444" },
      { fd: 14, events: ["in", "err", "hup"], data: "0x6666" },
    ],
    [{ fd: 11, events: ["in", "err", "hup"], data: "0x5555" }],
    null,
  ]);

  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  const checks = textLines(rest.stdout);
  expect(checks).toHaveLength(10);
  for (const l of checks) expect(l).toStartWith("PASS ");
  expect(rest.code).toBe(0);
}, 60000);

test("a watch registered under an fd the program closed since: refused naming the epoll and the fd; the program runs on", async () => {
  const run = ckpt([fixture("epoll-loop"), "stale"], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  // fd 3 the epoll, 4-5 the pipe; fd 4 closed, its file still open as fd 6.
  expect(run.stderr).toBe(
    "ckpt: checkpoint failed: fd 3 (epoll) watches a file registered as fd 4 that is no longer open at that number " +
      "(the program closed it or put another file there without removing the watch); a restart could not register it again; " +
      "the program continues\n",
  );
  expect(run.stdout).toBe("ready\nstill running\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test("a watch on a descriptor ckpt drops: the epoll is refused too, naming both, even with --drop-unsupported-fds", async () => {
  const run = ckpt(["--drop-unsupported-fds", fixture("epoll-loop"), "socket"], { cwd: dir });
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  const err = textLines(run.stderr);
  expect(err).toHaveLength(3);
  expect(err[0]).toMatch(/^ckpt: warning: fd 4 \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\) cannot be restored; it will be closed after a restart$/);
  expect(err[1]).toMatch(/^ckpt: warning: fd 5 \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\) cannot be restored; it will be closed after a restart$/);
  expect(err[2]).toMatch(
    /^ckpt: checkpoint failed: fd 3 \(epoll\) watches fd 4 \(socket:\[\d+\]\), which cannot be restored, so neither can the epoll; the program continues$/,
  );
  expect(run.stdout).toBe("ready\nstill running\n");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);
