// `ckpt restart --lazy` (docs/lazy-restart.md, c/stub/lazy_*.c): the
// program runs before its memory has loaded, which a page server brings in
// on first touch and in the background. test/fixtures/lazy-heap.c holds a
// 256 MiB heap of a known pattern, says whether it was still loading when
// it first ran, and checks from inside what anonymous memory must keep:
// a read() into a page not loaded yet, MADV_DONTNEED giving zeros, a
// forked child's copy, the whole heap's checksum.
import { expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd, until } from "./harness.ts";
import { processesIn } from "./tree-runs.ts";
import { readImage } from "../../src/image/read.ts";
import { CKPT_DATA_EXTENT_MAX, CKPT_EXTENT_DATA, CKPT_REGION_ANON } from "../../src/image/format.ts";
import { CKPT_ENV_LAZY, CKPT_LAZY_TEST_UNAVAILABLE, CKPT_PAGE_SERVER_NAME, CKPT_PAGE_WATCH_NAME } from "../../src/protocol/protocol.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** The fixture checkpointed after it filled its heap; the checksum it printed then. */
async function checkpointedHeap(args: string[] = []): Promise<string> {
  const first = await checkpointRun([fixture("lazy-heap"), ...args], { cwd: dir, afterLines: 2 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  return /^sum ([0-9a-f]{16})$/m.exec(first.stdout)?.[1] ?? "(no sum printed)";
}

/** Running processes named `name`. An ended one that no reaper has
 * collected yet (a container's pid 1 may never) holds nothing, and is not
 * counted. */
function running(name: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        return stat.includes(`(${name}) `) && !stat.includes(`(${name}) Z`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Page servers and their watchers still running: none may outlive its program. */
const pageServers = () => [...running(CKPT_PAGE_SERVER_NAME), ...running(CKPT_PAGE_WATCH_NAME)];

const ALL_CHECKS =
  "PASS read() from a pipe into a page not touched yet\n" +
  "PASS MADV_DONTNEED on restored pages gives zeros\n" +
  "PASS a child forked right after the restart has the whole heap\n" +
  "PASS the whole heap holds its pattern\n";

/** The image's largest anonymous region: the fixture's heap. */
const heapOf = (path: string) =>
  readImage(path)
    .regions.filter((r) => r.kind === CKPT_REGION_ANON)
    .sort((a, b) => Number(b.end - b.start - (a.end - a.start)))[0]!;

test("--lazy: the program runs while its 256 MiB heap still loads, then finds all of it: in a namespace, with --new-pid, through run-or-restart", async () => {
  const sum = await checkpointedHeap();
  // A first touch waits for its whole extent: the heap is cut into short ones.
  const lengths = heapOf(join(dir, "myckpt.dat")).extents.filter((e) => e.kind === CKPT_EXTENT_DATA).map((e) => e.len);
  expect(Math.max(...lengths)).toBe(CKPT_DATA_EXTENT_MAX);
  expect(lengths.length).toBeGreaterThanOrEqual((256 << 20) / CKPT_DATA_EXTENT_MAX);
  for (const command of [["restart", "--lazy"], ["restart", "--lazy", "--new-pid"], ["run-or-restart", "--lazy", fixture("lazy-heap")]]) {
    const rest = await runToEnd([CKPT, ...command], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(rest.stdout).toBe(`restarted\nloading: yes\n${ALL_CHECKS}sum ${sum}\n`);
    expect(rest.code).toBe(0);
    await until(() => pageServers().length === 0, () => `page servers still running: ${pageServers()}`);
  }
}, 120000);

test("children of _Fork() and forkpty(), which fork inside glibc past its fork(), made while the heap still loads: each finds the whole heap", async () => {
  const sum = await checkpointedHeap(["forks"]);
  const rest = await runToEnd([CKPT, "restart", "--lazy"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toBe(
    "restarted\nloading: yes\nPASS a child of _Fork() has the whole heap\nPASS a child of forkpty() has the whole heap\n" +
      `PASS the whole heap holds its pattern\nsum ${sum}\n`,
  );
  expect(rest.code).toBe(0);
}, 120000);

test("a child subreaper: the page server's processes, orphaned as they start, are never given to it", async () => {
  const sum = await checkpointedHeap(["subreaper"]);
  const rest = await runToEnd([CKPT, "restart", "--lazy"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toBe(`restarted\nloading: yes\nPASS a child subreaper has no child it did not make\n${ALL_CHECKS}sum ${sum}\n`);
  expect(rest.code).toBe(0);
}, 120000);

test("memory moved with mremap and then released before it has loaded, and released ahead of a reader: the pattern where it went, zeros where released", async () => {
  const first = await checkpointRun([fixture("lazy-moves")], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart", "--lazy"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.stdout).toBe(
    "restarted\nloading: yes\nPASS mremap of memory still loading: every word arrives where it went\n" +
      "PASS MADV_DONTNEED after the move, and ahead of the reader: zeros, never image bytes\n",
  );
  expect(rest.code).toBe(0);
}, 120000);

test("a lazily restarted program checkpointed again at once: the new image is complete, its eager restart has the same heap", async () => {
  const sum = await checkpointedHeap(["again"]);
  const second = join(dir, "second.dat");
  const lazy = ckpt(["restart", "--lazy", "--image", second], { cwd: dir });
  await lazy.waitFor((out) => out.includes("ready"));
  process.kill(lazy.pid, "SIGUSR2"); // the supervisor passes it on
  expect(await lazy.exit()).toBe(EXIT_CHECKPOINTED);
  expect(lazy.stdout).toBe("restarted\nloading: yes\nready\n");
  const eager = await runToEnd([CKPT, "restart", second], { cwd: dir });
  expect(eager.stderr).toBe("");
  expect(eager.stdout).toBe(`PASS the whole heap holds its pattern\nsum ${sum}\n`);
  expect(eager.code).toBe(0);
}, 120000);

test("threads started after an earlier restart hold the namespace's first tids: a lazy restart of their image gives each its tid back", async () => {
  const first = await checkpointRun([fixture("late-threads")], { cwd: dir, afterLines: 2 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const second = join(dir, "second.dat");
  const eager = ckpt(["restart", "--image", second], { cwd: dir });
  await eager.waitFor((out) => lines(out) >= 3);
  process.kill(eager.pid, "SIGUSR2"); // the supervisor passes it on
  expect(await eager.exit()).toBe(EXIT_CHECKPOINTED);
  // What makes this case: tids below every id the restart gives out itself,
  // where the page server's processes would take theirs.
  const image = readImage(second);
  const low = image.threads.filter((t) => t.tid < image.header.pid).map((t) => t.tid);
  expect(low.length).toBeGreaterThan(0);
  const lazy = await runToEnd([CKPT, "restart", "--lazy", second], { cwd: dir });
  expect(lazy.stderr).toBe("");
  expect(lazy.code).toBe(0);
  const ticks = [...first.stdout.split("\n"), ...eager.stdout.split("\n"), ...lazy.stdout.split("\n")].filter((l) => l.startsWith("tick"));
  expect(new Set(ticks).size).toBe(12);
  expect(lazy.stdout).toEndWith("all threads joined, heap intact\n");
}, 120000);

test("a corrupt byte in the heap's stored data: the program is killed before it sees it, one line names the image and offset", async () => {
  await checkpointedHeap();
  const path = join(dir, "myckpt.dat");
  const heap = heapOf(path);
  // The extent holding the page the program reads into first.
  const target = heap.start + 100n * 2n ** 20n;
  const extent = heap.extents.find((e) => e.kind === CKPT_EXTENT_DATA && e.start <= target && target < e.start + BigInt(e.len))!;
  const fd = openSync(path, "r+");
  const at = extent.dataOffset + 12345;
  writeSync(fd, Buffer.from([readFileSync(path)[at]! ^ 0x5a]), 0, 1, at);
  closeSync(fd);
  // The program is killed, and `ckpt restart` ends as it did (the supervisor raises the same signal).
  const rest = ckpt(["restart", "--lazy"], { cwd: dir });
  await rest.done;
  expect(rest.proc.signalCode).toBe("SIGKILL");
  expect(rest.stderr).toBe(
    `ckpt: cannot restart ${path}: memory contents checksum mismatch (corrupt image) at image offset ${extent.dataOffset}; ` +
      "the program was killed before it could use that memory (--lazy)\n",
  );
  expect(rest.stdout).not.toMatch(/PASS|FAIL|sum/);
  await until(() => pageServers().length === 0, () => `page servers still running: ${pageServers()}`);
}, 120000);

/** Whether some memory of process `pid` is still registered for lazy loading (VmFlag "um"). */
function stillLoading(pid: number): boolean {
  try {
    return /^VmFlags:.* um /m.test(readFileSync(`/proc/${pid}/smaps`, "utf8"));
  } catch {
    return false;
  }
}

test("a page server killed while memory still loads: the program is killed before it can read a page never loaded, and one line says so", async () => {
  await checkpointedHeap(["go"]);
  // The server may finish loading before the test can stop it: then the round proves nothing, and another is run.
  for (let round = 1; round <= 3; round++) {
    const rest = ckpt(["restart", "--lazy"], { cwd: dir });
    await rest.waitFor((out) => out.includes("loading: yes\n"));
    const servers = running(CKPT_PAGE_SERVER_NAME);
    for (const pid of servers) process.kill(pid, "SIGSTOP");
    const program = running("lazy-heap").find((pid) => processesIn(dir).includes(pid));
    if (servers.length !== 1 || program === undefined || !stillLoading(program)) {
      for (const pid of servers) process.kill(pid, "SIGCONT");
      writeFileSync(join(dir, "go"), "");
      await rest.done;
      rmSync(join(dir, "go"));
      continue;
    }
    process.kill(servers[0]!, "SIGKILL");
    writeFileSync(join(dir, "go"), ""); // the program reads its heap now: a page never loaded must not read as zeros
    await rest.done;
    expect(rest.proc.signalCode).toBe("SIGKILL");
    expect(rest.stderr).toBe(
      `ckpt: cannot go on with the restart of ${join(dir, "myckpt.dat")}: its page server (${CKPT_PAGE_SERVER_NAME}) was killed by signal 9 ` +
        "while memory was still loading; the program was killed before it could read memory not loaded yet (--lazy)\n",
    );
    expect(rest.stdout).toBe("restarted\nloading: yes\n");
    await until(() => pageServers().length === 0, () => `page servers still running: ${pageServers()}`);
    return;
  }
  throw new Error("in three rounds the page server had loaded everything before it could be stopped");
}, 120000);

test("where no userfaultfd can serve the kernel's faults, --lazy says so in one line and restarts eagerly", async () => {
  const sum = await checkpointedHeap();
  for (const command of [["restart", "--lazy"], ["run-or-restart", "--lazy", fixture("lazy-heap")]]) {
    const rest = await runToEnd([CKPT, ...command], { cwd: dir, env: { [CKPT_ENV_LAZY]: CKPT_LAZY_TEST_UNAVAILABLE } });
    expect(rest.stderr).toBe(
      "ckpt: --lazy: no userfaultfd here can serve the kernel's own page faults (allow one with " +
        "`sysctl vm.unprivileged_userfaultfd=1`, or read-write access to /dev/userfaultfd); restarting eagerly\n",
    );
    expect(rest.stdout).toBe(`restarted\nloading: no\n${ALL_CHECKS}sum ${sum}\n`);
    expect(rest.code).toBe(0);
  }
}, 120000);
