// The pure C parts (maps parser, CRC32C, page classification, fd record checks, the first child's clone) compiled against libc and run: the
// same sources libckpt and the stub use, tested outside a signal handler.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

async function runCTest(name: string, sources: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "ckpt-ctest-"));
  try {
    const exe = join(dir, name);
    const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-Werror", "-o", exe, ...sources.map((s) => join(root, s))]);
    expect(cc.stderr.toString()).toBe("");
    expect(cc.exitCode).toBe(0);
    const run = Bun.spawnSync([exe]);
    return { code: run.exitCode, out: run.stdout.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("maps parser agrees with sscanf on real and crafted lines, refuses bad ones", async () => {
  const r = await runCTest("maps_test", ["test/c/maps_test.c", "c/maps.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(Number(r.out.match(/^(\d+) passed/m)![1])).toBeGreaterThan(50); // real lines were read
  expect(r.code).toBe(0);
});

test("CRC32C, one chain and three, matches the check value and a bitwise reference at every alignment", async () => {
  const r = await runCTest("crc32c_test", ["test/c/crc32c_test.c", "c/crc32c.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.code).toBe(0);
});

test("page classification: swapped, present, file-backed, exclusive and guard pagemap words", async () => {
  const r = await runCTest("page_kind_test", ["test/c/page_kind_test.c", "c/lib/page_kind.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.code).toBe(0);
});

test("fdinfo lock lines: the kernel's own for flock, POSIX and OFD locks, and crafted ones refused", async () => {
  const r = await runCTest("lock_line_test", ["test/c/lock_line_test.c", "c/lib/lock_line.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.code).toBe(0);
});

test("descriptor kinds' record checks: each kind's sane record passes, stray or out-of-range fields are refused in the stub's words", async () => {
  const r = await runCTest("fd_records_test", ["test/c/fd_records_test.c", ...["fd_file", "fd_proc", "fd_inherit", "fd_tty", "fd_pipe", "fd_fifo", "fd_unlinked", "fd_locks", "fd_eventfd", "fd_signalfd", "fd_timerfd", "fd_unix_socket", "fd_inet_socket"].map((k) => `c/kinds/${k}.c`)]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.code).toBe(0);
});

test("epoll records and the watch table: sane ones pass, unsorted, stray or dangling watches are refused in the stub's words", async () => {
  const r = await runCTest("epoll_watches_test", ["test/c/epoll_watches_test.c", "c/kinds/fd_epoll.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(Number(r.out.match(/^(\d+) passed/m)![1])).toBe(15);
  expect(r.code).toBe(0);
});

test("inotify records and the watch table: sane ones pass, unsorted, stray or dangling watches are refused in the stub's words", async () => {
  const r = await runCTest("inotify_watches_test", ["test/c/inotify_watches_test.c", "c/kinds/fd_inotify.c"]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed$/m);
  expect(Number(r.out.match(/^(\d+) passed/m)![1])).toBe(20);
  expect(r.code).toBe(0);
});

test("vfork_on_stack: the child shares our memory, runs on its own stack, leaves ours alone, is seen only by __WCLONE", async () => {
  const r = await runCTest("vfork_on_stack_test", ["test/c/vfork_on_stack_test.c", "c/lib/vfork_on_stack.S"]);
  expect(r.out).toMatch(/^9 passed, 0 failed$/m);
  expect(r.code).toBe(0);
});
