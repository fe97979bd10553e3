// The "checkpoint could have known" audit (issue #13): every refusal the
// restore stub can make is listed here with what it is about, and for those
// about the world (files, descriptors, sizes) whether the checkpoint can
// foresee it and which test shows it. A refusal site added to the stub
// without a row here fails the first test. The others set a state up before
// the checkpoint (it must refuse, the program running on, or the restart
// must not refuse what the checkpoint saw) or change the world after it (the
// restart must refuse in one line before anything is torn down, so the same
// image restarts once the world is put back).
import { expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, ROOT, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const textLines = (out: string) => out.split("\n").slice(0, -1);

type About = "world" | "image" | "kernel" | "restart's own state";
interface Refusal {
  text: string; // occurs in the file, at or just above the refusal
  sites: number; // refusal call lines it stands for
  about: About;
  foreseen?: string; // world: how the checkpoint foresees it, or why it cannot
  shownBy?: string; // world: a test (in test/e2e) that exercises it
}

const AUDIT: Record<string, Refusal[]> = {
  "preconditions.c": [
    { text: '"the working directory "', sites: 1, about: "world", foreseen: "getcwd (capture_process.c) and world_audit.c refuse a working directory its path does not reach; deleted afterwards, it refuses here, before teardown", shownBy: "a working directory deleted after the checkpoint" },
  ],
  "machine.c": [
    { text: "cannot read /proc/self/maps", sites: 2, about: "restart's own state" },
    { text: "vDSO layout differs", sites: 1, about: "kernel" },
    { text: "XSAVE features differ", sites: 1, about: "kernel" },
    { text: "this kernel provides no vDSO", sites: 1, about: "kernel" },
    { text: "this kernel's vDSO differs", sites: 1, about: "kernel" },
  ],
  "affinity.c": [
    { text: "may run only on CPUs", sites: 1, about: "restart's own state" },
    { text: "has no CPU in its saved affinity (corrupt image)", sites: 0, about: "image" },
    { text: "cannot read this restart's CPU affinity", sites: 1, about: "restart's own state" },
    { text: "cannot bind a thread to its saved CPUs", sites: 1, about: "kernel" },
  ],
  "kinds/mem_file.c": [
    { text: '"mapped file "', sites: 1, about: "world", foreseen: "capture keeps a mapping as file pages only while its path leads to the same inode, size and mtime (else its pages are stored); a change after the checkpoint cannot be foreseen", shownBy: "restart refuses a program whose executable was" },
    { text: " cannot be opened for writing (", sites: 1, about: "world", foreseen: "mem_file.c, at capture (once capture_vmflags.c has read mw), refuses a shared mapping that may be made writable of a file this user cannot write now (faccessat2 W_OK); made read-only afterwards cannot be foreseen", shownBy: "a restart is refused before teardown when that file can no longer be opened for writing" },
    { text: '"cannot open mapped file"', sites: 1, about: "world", foreseen: "the two rows above check every mapped file before teardown, so this refusal while mapping is only a race" },
    { text: "mapped file changed during the restart:", sites: 1, about: "world", foreseen: "the first row above checks inode, size and mtime before teardown, so a change found while mapping is only a race" },
  ],
  "fd_place.c": [
    { text: "die_path(what, path", sites: 2, about: "world", foreseen: "reported under each caller's words (the rows with to_high)" },
    { text: "cannot place a restored descriptor", sites: 1, about: "restart's own state" },
    { text: "cannot move the image descriptor", sites: 1, about: "restart's own state" },
    { text: "cannot read from the image the contents of a", sites: 1, about: "image" },
    { text: '"cannot refill a"', sites: 1, about: "kernel" },
    { text: "checksum mismatch in the stored contents of a", sites: 1, about: "image" },
    { text: "cannot set a descriptor's status flags", sites: 1, about: "kernel" },
  ],
  "kinds/fd_file.c": [
    { text: "shorter than the saved offset", sites: 1, about: "world", foreseen: "fd_path_audit (c/kinds/fd_file.c): the path leads to the open file; an offset already past the end at checkpoint is not refused; a file that shrank afterwards cannot be foreseen", shownBy: "restart refuses an image whose open file shrank below its offset or vanished" },
    { text: '"cannot reopen"', sites: 1, about: "world", foreseen: "fd_path_audit: the path leads to the open file (not shadowed, not out of reach) and the program may still open it as it did (faccessat with its effective ids); permissions changed afterwards, or a restart by another user, cannot be foreseen", shownBy: "a file the program may no longer open as it did" },
    { text: '"cannot seek in", path', sites: 1, about: "world", foreseen: "the offset was read with lseek, so the file could seek then; a different device behind the path later cannot be foreseen" },
    { text: '"cannot make again the temporary file"', sites: 2, about: "world", foreseen: "a kept file (in a temporary directory) is made again only where its directory still exists, checked before teardown (fd_file_check_world); a directory that refuses a new file, or a full disk, cannot be foreseen", shownBy: "a small file open in a temporary directory that vanished after the checkpoint" },
  ],
  "kinds/fd_tty.c": [
    { text: '"cannot reopen"', sites: 1, about: "world", foreseen: "as the row below: the checkpoint records only that the fd was the program's controlling terminal; whether this restart's /dev/tty can be had is known only then" },
    { text: "this restart has no controlling terminal to give it", sites: 1, about: "world", foreseen: "cannot be: the checkpoint records only that the fd was the program's controlling terminal; whether the restart runs on one is known only then", shownBy: "a restart with no terminal at all is refused in one line naming the fd" },
  ],
  "kinds/fd_pipe.c": [
    { text: '"cannot create a pipe"', sites: 2, about: "kernel" },
  ],
  "kinds/fd_locks.c": [
    { text: "another process holds a conflicting one now", sites: 1, about: "world", foreseen: "cannot be: another process takes the lock after the checkpoint (or the original still runs, with --continue)", shownBy: "a lock another process holds at restart refuses the restart" },
  ],
  "kinds/fd_fifo.c": [
    { text: '"cannot reopen the FIFO"', sites: 2, about: "world", foreseen: "fd_path_audit (c/kinds/fd_file.c): the path leads to the FIFO; resolve_pipes (c/kinds/fd_pipe.c) refuses a FIFO whose other end another process holds", shownBy: "a named FIFO whose other end another process holds" },
    { text: '" is no longer a FIFO"', sites: 1, about: "world", foreseen: "fd_path_audit checks the path leads to the FIFO at checkpoint; replaced afterwards cannot be foreseen" },
    { text: "already holds bytes another process wrote", sites: 1, about: "world", foreseen: "cannot be: another process writes after the checkpoint" },
  ],
  "kinds/fd_eventfd.c": [
    { text: '"cannot create an eventfd"', sites: 1, about: "kernel" },
  ],
  "kinds/fd_async.c": [
    // the owner is this process, its group or the tree's root, all there by now
    { text: "signal-driven I/O (O_ASYNC) again", sites: 1, about: "kernel" },
  ],
  "kinds/fd_signalfd.c": [
    { text: '"cannot create a signalfd"', sites: 1, about: "kernel" },
  ],
  "kinds/fd_timerfd.c": [
    { text: '"cannot create a timerfd on clock"', sites: 1, about: "kernel" },
    // timerfd_die's one line stands for its three callers' words (rows of 0 sites):
    { text: "die_line(&l);", sites: 1, about: "kernel" },
    { text: "unread expirations cannot be set again on this kernel", sites: 0, about: "kernel" },
    { text: "cannot arm its timerfd again", sites: 0, about: "kernel" },
    { text: "cannot set its timerfd's unread expirations again", sites: 0, about: "kernel" },
  ],
  "kinds/fd_unlinked.c": [
    { text: "cannot recreate the deleted file, in", sites: 1, about: "world", foreseen: "fd_unlinked.c makes and drops an O_TMPFILE file in that directory at checkpoint; a directory removed afterwards cannot be foreseen" },
    { text: '" exists now: the deleted file', sites: 1, about: "world", foreseen: "fd_unlinked.c refuses when the old name is taken at checkpoint; taken afterwards, it refuses here, before teardown", shownBy: "a deleted file's old name taken after the checkpoint" },
    { text: '"cannot recreate the deleted file", name', sites: 4, about: "world", foreseen: "the same directory checks; failures beyond them (disk full) cannot be foreseen" },
    { text: '"cannot recreate memfd"', sites: 1, about: "kernel" },
    { text: '"cannot recreate", name', sites: 1, about: "kernel" },
    { text: "cannot seal the recreated memfd", sites: 1, about: "kernel" },
    { text: '"cannot seek in", name', sites: 1, about: "kernel" },
    { text: "cannot open again the deleted file or memfd on", sites: 1, about: "world", foreseen: "fd_unlinked.c opens each description again through /proc/self/fd with its access mode at checkpoint (a chmod since the open refuses there); the file has no name, so only the program could change it afterwards, under --continue" },
    { text: '"cannot seek in", self.buf', sites: 1, about: "kernel" },
  ],
  "kinds/fd_epoll.c": [
    { text: '"cannot create an epoll"', sites: 1, about: "kernel" },
    { text: "epoll watches nest too deeply or in a loop", sites: 1, about: "image" },
    { text: '" (epoll): cannot watch fd "', sites: 1, about: "restart's own state" },
  ],
  "kinds/fd_inotify.c": [
    { text: '"cannot create an inotify instance"', sites: 1, about: "kernel" },
    // watch_die's one line stands for its callers' words (rows of 0 sites):
    { text: "die_line(&l);", sites: 1, about: "world", foreseen: "the checkpoint checks each watch's recorded path still leads to the watched inode; removed afterwards, fd_inotify_check_world refuses before teardown", shownBy: "a watched path removed after the checkpoint" },
    { text: "the watched path no longer exists", sites: 0, about: "world", foreseen: "checked at checkpoint (the path leads to the watched inode); removed afterwards it refuses here, before teardown", shownBy: "a watched path removed after the checkpoint" },
    { text: "the watched path is no longer a directory", sites: 0, about: "world", foreseen: "IN_ONLYDIR watches a directory at checkpoint; replaced afterwards, it refuses here, before teardown" },
    { text: "the path now leads to a file another watch of it watches", sites: 0, about: "world", foreseen: "at checkpoint every path leads to its own watched inode; only a rename or link afterwards makes two paths meet" },
    { text: "cannot watch it again", sites: 0, about: "restart's own state" },
    { text: "cannot count wds up to it", sites: 0, about: "restart's own state" },
    { text: "this kernel did not hand out wds in order", sites: 0, about: "kernel" },
    { text: "no unwatched file left to count wds up with", sites: 0, about: "image" },
  ],
  "sockets.c": [
    { text: "die_line(&why);", sites: 1, about: "world", foreseen: "reported under each caller's words (the socket kinds' rows)" },
    { text: "cannot set SO_RCVBUF again", sites: 0, about: "kernel" },
    { text: "cannot set SO_SNDBUF again", sites: 0, about: "kernel" },
    { text: "cannot set SO_PASSCRED again", sites: 0, about: "kernel" },
    { text: "cannot set SO_REUSEADDR again", sites: 0, about: "kernel" },
    { text: "cannot set its timeouts again", sites: 0, about: "kernel" },
    { text: "cannot give it its buffer sizes again", sites: 0, about: "restart's own state" },
  ],
  "kinds/fd_unix_socket.c": [
    { text: '"cannot create a Unix socket"', sites: 1, about: "kernel" },
    { text: '"cannot create a socket pair"', sites: 1, about: "kernel" },
    // die_socket (c/stub/sockets.c) stands for these callers' words (rows of 0 sites):
    { text: "that name is in use by another process", sites: 0, about: "world", foreseen: "cannot be: another process binds the abstract name after the checkpoint (or the original still runs, with --continue)" },
    { text: "that path is taken by a file that is not a socket", sites: 0, about: "world", foreseen: "fd_unix_socket_capture refuses a socket whose path no longer leads to the socket file it created (UNIX_DIAG_VFS inode); replaced afterwards cannot be foreseen", shownBy: "a socket path now taken by a file" },
    { text: "that path is in use by another process", sites: 0, about: "world", foreseen: "cannot be: another process listens there after the checkpoint (or the original still runs, with --continue)", shownBy: "a listening path another process took meanwhile" },
    { text: "cannot bind it there again", sites: 0, about: "world", foreseen: "the capture checks the path leads to the socket's own file; a directory removed afterwards cannot be foreseen", shownBy: "or whose directory is gone" },
    { text: "cannot connect it again to its peer", sites: 0, about: "world", foreseen: "cannot be: a datagram peer outside the process may go away after the checkpoint" },
    { text: "cannot make a socket to test its address", sites: 0, about: "kernel" },
    { text: "cannot listen there again", sites: 0, about: "kernel" },
    { text: "no memory to read its unread bytes", sites: 0, about: "restart's own state" },
    { text: "cannot read its unread bytes from the image", sites: 0, about: "image" },
    { text: "checksum mismatch in its stored unread bytes", sites: 0, about: "image" },
    { text: "its stored messages are corrupt", sites: 0, about: "image" },
    { text: "cannot queue its unread bytes again", sites: 0, about: "kernel" },
    { text: "cannot set SO_PEEK_OFF again", sites: 0, about: "kernel" },
    { text: "cannot shut it down again", sites: 0, about: "kernel" },
  ],
  "kinds/fd_inet_socket.c": [
    { text: '"cannot create a TCP socket"', sites: 1, about: "kernel" },
    // die_socket (c/stub/sockets.c) stands for these callers' words (rows of 0 sites):
    { text: "that address is in use by another process", sites: 0, about: "world", foreseen: "cannot be: another process binds the address after the checkpoint (or the original still runs, with --continue)", shownBy: "a port another process took meanwhile" },
    { text: "cannot bind it there again", sites: 0, about: "world", foreseen: "the program had the address bound at checkpoint; one gone from this machine since (an interface removed, another host) cannot be foreseen" },
    { text: "cannot connect it again to its peer", sites: 0, about: "world", foreseen: "cannot be: the route to a UDP peer may be gone at restart" },
    { text: "its address is not one ckpt wrote (corrupt image)", sites: 0, about: "image" },
    { text: "cannot make a closed connection on the loopback to stand for it", sites: 0, about: "restart's own state" },
    { text: "cannot listen there again", sites: 0, about: "kernel" },
    { text: "cannot set SO_REUSEPORT again", sites: 0, about: "kernel" },
    { text: "cannot set SO_KEEPALIVE again", sites: 0, about: "kernel" },
    { text: "cannot set IPV6_V6ONLY again", sites: 0, about: "kernel" },
    { text: "cannot set TCP_NODELAY again", sites: 0, about: "kernel" },
  ],
  "process.c": [
    { text: "PR_SET_MM_MAP", sites: 1, about: "kernel" },
    { text: "cannot change to the saved working directory", sites: 1, about: "world", foreseen: "preconditions.c checks the directory before teardown (the row above), so this late refusal is only a race", shownBy: "a working directory deleted after the checkpoint" },
    { text: "rseq area again", sites: 1, about: "kernel" },
    { text: "cannot create a thread", sites: 1, about: "kernel" },
    { text: "thread pointer", sites: 1, about: "kernel" },
    { text: "parent-death signal again", sites: 1, about: "kernel" },
    { text: "personality again", sites: 1, about: "kernel" }, // tried in phase 1 (process_state.c)
    { text: "memory-deny-write-execute again", sites: 1, about: "kernel" }, // the kernel has it: phase 1
    { text: "machine-check policy again", sites: 1, about: "kernel" }, // PR_SET_TSC and PR_MCE_KILL need no right
  ],
};

test("every refusal site of the stub about files and descriptors is classified, and each world one says how the checkpoint foresees it", () => {
  const suite = ["bad-input.test.ts", "fd-kinds.test.ts", "inotify.test.ts", "memory.test.ts", "refusal-audit.test.ts", "terminal.test.ts", "unix-sockets.test.ts", "inet-sockets.test.ts"]
    .map((f) => readFileSync(join(ROOT, "test", "e2e", f), "utf8")).join("\n");
  for (const [file, rows] of Object.entries(AUDIT)) {
    // A bare name is in c/stub/; the kinds' modules (c/kinds/) hold their restore halves.
    const source = readFileSync(join(ROOT, "c", file.includes("/") ? file : join("stub", file)), "utf8");
    // Refusal call lines: indented calls of die, die_path, die_line or to_high (which dies).
    const sites = source.split("\n").filter((l) => /^\s+.*\b(die|die_path|die_line|to_high)\(/.test(l)).length;
    expect({ file, sites }).toEqual({ file, sites: rows.reduce((n, r) => n + r.sites, 0) });
    for (const r of rows) {
      expect({ file, text: r.text, found: source.includes(r.text) }).toEqual({ file, text: r.text, found: true });
      if (r.about === "world") expect({ text: r.text, foreseen: (r.foreseen ?? "").length > 20 }).toEqual({ text: r.text, foreseen: true });
      if (r.shownBy) expect({ shownBy: r.shownBy, inSuite: suite.includes(r.shownBy) }).toEqual({ shownBy: r.shownBy, inSuite: true });
    }
  }
});

test("a file offset already past the end at checkpoint is not refused at restart (the checkpoint saw that size)", async () => {
  const first = await checkpointRun([fixture("world-audit"), "seek", dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(lines(rest.stdout)).toBeGreaterThan(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} offset 1000 past 10 bytes`));
}, 60000);

test("a file whose path a mount now shadows: the checkpoint is refused by fd and path, the program runs on", async () => {
  const run = ckpt([fixture("world-audit"), "shadow", dir], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 1);
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "ckpt-audit", join(dir, "sub")]);
  if (mount.exitCode !== 0) {
    run.proc.kill();
    console.log(`skipped: cannot mount a tmpfs here (${mount.stderr.toString().trim()}); needs root`);
    return;
  }
  try {
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(0);
  } finally {
    Bun.spawnSync(["umount", join(dir, "sub")]);
  }
  expect(run.stderr).toBe(
    `ckpt: checkpoint failed: fd 3 (${join(dir, "sub", "file")}): that path no longer leads to the open file (shadowed by a mount, or out of reach), so a restart could not reopen it; the program continues\n`,
  );
  expect(run.stdout).toEndWith("step 9\n");
}, 60000);

test("a file the program may no longer open as it did (made read-only): the checkpoint is refused by fd, the program runs on", async () => {
  // As root the permission check always passes; run as nobody, whose rights it is about.
  const nobody = 65534;
  chownSync(dir, nobody, nobody);
  const run = spawn(["setpriv", `--reuid=${nobody}`, `--regid=${nobody}`, "--clear-groups", CKPT, fixture("world-audit"), "chmod", dir],
    { cwd: dir, env: { HOME: dir, XDG_CACHE_HOME: join(dir, "cache") } });
  try {
    await run.waitFor((o) => lines(o) >= 1);
  } catch (e) {
    if (!run.stderr.includes("setpriv")) throw e;
    console.log(`skipped: cannot run as nobody here (${run.stderr.trim()})`);
    return;
  }
  chmodSync(join(dir, "file"), 0o400);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toBe(
    `ckpt: checkpoint failed: fd 3 (${join(dir, "file")}): the program may no longer open it for writing, so a restart could not reopen it; the program continues\n`,
  );
  expect(run.stdout).toEndWith("step 9\n");
}, 60000);

test("a working directory deleted before the checkpoint: refused, the program runs on", async () => {
  const run = ckpt([fixture("world-audit"), "cwd", dir], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 1);
  rmdirSync(join(dir, "work"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(/^ckpt: checkpoint failed: [^\n]*working directory[^\n]*; the program continues\n$/);
  expect(run.stdout).toEndWith("step 9\n");
}, 60000);

test("a working directory deleted after the checkpoint: the restart refuses before teardown, and restarts once it is back", async () => {
  const first = await checkpointRun([fixture("world-audit"), "cwd", dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const work = join(dir, "work");
  rmdirSync(work);
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: the working directory ${work} no longer exists\n` });
  mkdirSync(work);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i}`));
}, 60000);

test("a deleted file's old name taken before the checkpoint: refused by fd, the program runs on", async () => {
  const run = ckpt([fixture("unlinked-files"), dir, "reused"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(/^ckpt: checkpoint failed: fd 3 \(\S+\/scratch \(deleted\): its old name is taken by another file now, and a restart recreates it under that name\) /);
  expect(run.stdout).toEndWith("step 9 files ok\n");
}, 60000);

test("a deleted file's old name taken after the checkpoint: the restart refuses before teardown, and restarts once it is free", async () => {
  const first = await checkpointRun([fixture("unlinked-files"), dir], { cwd: dir, afterLines: 3 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const name = join(dir, "scratch");
  writeFileSync(name, "someone else's\n");
  const refused = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(refused).toEqual({
    code: 1, stdout: "",
    stderr: `ckpt: cannot restart ${join(dir, "myckpt.dat")}: ${name} exists now: the deleted file that had this name cannot take it again; move it away\n`,
  });
  expect(readFileSync(name, "utf8")).toBe("someone else's\n");
  rmSync(name);
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.code).toBe(0);
  expect(textLines(first.stdout + rest.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i} files ok`));
  expect(existsSync(name)).toBe(false);
}, 60000);
