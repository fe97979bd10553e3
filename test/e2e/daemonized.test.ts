// Programs that daemonize: the process ckpt launched forks and exits, and
// what it left running (after setsid) becomes the root of its own
// checkpoint (c/lib/daemon_root.c, docs/process-trees.md "Daemons").
// `ckpt restart` brings it back detached, as a session leader without a
// terminal, and returns 0 once it is back. Checked from inside
// (test/fixtures/daemon-counter.c writes what it finds to a file: its
// output goes to /dev/null) and with a real agent. What this first slice
// cannot bring back exactly is refused in one line, the daemon running on.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, eachTestInTempDir, fixture, need, runToEnd, until } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** Host pids to end after each test: the daemons (restored ones live in a pid namespace under ckpt-init). */
const leftRunning: number[] = [];
afterEach(() => {
  for (const pid of leftRunning.splice(0).filter((p) => p > 0))
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
});

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false; // gone, reaped
  }
}

/** The host pid of the live process in a pid namespace that sees itself as `pid` (innermost NSpid) and runs `comm`. */
function hostPid(pid: number, comm: string): number {
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n)))
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const nspid = /^NSpid:\s*(.*)$/m.exec(status)![1]!.trim().split(/\s+/).map(Number);
      const inNamespace = nspid.length > 1 && nspid.at(-1) === pid;
      if (inNamespace && /^Name:\s*(.*)$/m.exec(status)![1] === comm && alive(Number(name))) return Number(name);
    } catch {}
  return 0;
}

/** Its counter so far, checked to be 1, 2, 3... with no number lost or repeated. */
function counted(): number {
  const text = readFileSync(join(dir, "count"), "utf8").trim();
  const numbers = text === "" ? [] : text.split("\n").map(Number);
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  return numbers.length;
}

async function launchDaemon(mode?: string): Promise<number> {
  const launch = await runToEnd([CKPT, fixture("daemon-counter"), dir, ...(mode ? [mode] : [])], { cwd: dir });
  expect(launch).toMatchObject({ code: 0, stdout: "", stderr: "" });
  await until(() => existsSync(join(dir, "pid")), () => "no pid file");
  const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
  leftRunning.push(pid);
  await until(() => existsSync(join(dir, "count")) && counted() >= 3, () => "not counting");
  return pid;
}

/** `ckpt restart` returns 0 with the daemon back; it then finds itself as it was. */
async function restartAndCheck(pid: number, countedBefore: number, checks = 7): Promise<number> {
  const restart = await runToEnd([CKPT, "restart"], { cwd: dir }, 20000);
  expect(restart).toMatchObject({ code: 0, stdout: "", stderr: "" });
  const host = hostPid(pid, "daemon-counter");
  expect(host).toBeGreaterThan(0);
  leftRunning.push(host);
  await until(() => existsSync(join(dir, "checks")) && /checked|failed/.test(readFileSync(join(dir, "checks"), "utf8")), () => "no checks");
  const found = readFileSync(join(dir, "checks"), "utf8");
  expect(found).not.toContain("FAIL");
  expect(found.match(/^PASS/gm)).toHaveLength(checks);
  await until(() => counted() > countedBefore + 3, () => "not counting on");
  return host;
}

test("a daemon(1, 0) counter: ckpt checkpoint PID, then ckpt restart returns 0 with it back as a session leader without a terminal, counting on; kill -USR2 checkpoints it again", async () => {
  const pid = await launchDaemon();
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.code).toBe(0);
  await until(() => !alive(pid), () => "still running after a stop-mode checkpoint");
  const before = counted();
  await Bun.sleep(100);
  expect(counted()).toBe(before); // nothing counts while it is an image
  const newPid = await runToEnd([CKPT, "restart", "--new-pid"], { cwd: dir });
  expect(newPid.code).not.toBe(0);
  expect(newPid.stderr).toMatch(/^ckpt: cannot restart .*: a daemon \(process \d+, left running by the program ckpt launched\) restarts only into a new pid namespace: --new-pid asks for a new pid\n$/);
  const info = await runToEnd([CKPT, "info"], { cwd: dir });
  expect(info.stdout).toMatch(/^daemon +left running by its exited launch: restarts detached, leading its own session$/m);

  const host = await restartAndCheck(pid, before);

  // A second generation, by the plain signal to its host pid.
  const info0 = readFileSync(join(dir, "checks"), "utf8");
  process.kill(host, "SIGUSR2");
  await until(() => !alive(host), () => "the restored daemon did not stop for its checkpoint");
  const again = counted();
  expect(info0).toContain("checked");
  await restartAndCheck(pid, again);
}, 60000);

test("an orphan that stayed in the launch's session is refused in one line, and counts on", async () => {
  const orphan = await launchDaemon("orphan-only");
  const refused = await runToEnd([CKPT, "checkpoint", String(orphan)], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split("\n")).toHaveLength(1);
  expect(refused.stderr).toContain(`process ${orphan}, left running by the program ckpt launched (process `);
  expect(refused.stderr).toContain("is still in the launch's session");
  expect(refused.stderr).toContain("the program continues");
  const n = counted();
  await until(() => counted() > n + 2, () => "not counting on");
  process.kill(orphan, "SIGKILL");
}, 30000);

test("a daemon with a child: checkpointed with it as a tree, restarted, the child is its own again, at its pid, in its session", async () => {
  const pid = await launchDaemon("child");
  const child = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim());
  leftRunning.push(child);
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request).toMatchObject({ code: 0 });
  await until(() => !alive(pid) && !alive(child), () => "still running after a stop-mode checkpoint");
  expect(readdirSync(dir).filter((f) => f.endsWith(`.${child}`))).toHaveLength(1); // the child's member image
  const before = counted();
  const host = await restartAndCheck(pid, before, 8);
  const restoredChild = Number(readFileSync(`/proc/${host}/task/${host}/children`, "utf8").trim());
  leftRunning.unshift(restoredChild); // before its parent, or init would take it and outlive the test
  expect(readFileSync(`/proc/${restoredChild}/status`, "utf8")).toMatch(new RegExp(`^NSpid:\\s+${restoredChild}\\s+${child}$`, "m"));
}, 60000);

// The tmux server a client leaves behind execs its panes' programs after
// the launch exited, so libckpt stays inert in them: no handler. The
// daemon's request then ended them with the signal's default action.
test("a daemon that execs a program after the launch exited: its checkpoint is refused naming that process, which runs on", async () => {
  const program = [
    "import os, sys, time",
    "if os.fork(): sys.exit(0)",
    "os.setsid()",
    "null = os.open('/dev/null', os.O_RDWR)",
    "for fd in (0, 1, 2): os.dup2(null, fd)",
    "time.sleep(0.5)",
    "child = os.fork()",
    "if child == 0: os.execv('/bin/sleep', ['sleep', '60'])",
    "open('pids', 'w').write(f'{os.getpid()} {child}')",
    "while True: time.sleep(0.1)",
  ].join("\n");
  const launch = await runToEnd([CKPT, "/usr/bin/python3", "-c", program], { cwd: dir });
  expect(launch.code).toBe(0);
  // the whole line: the file exists a moment before Python's write lands in it
  await until(() => existsSync(join(dir, "pids")) && /^\d+ \d+$/.test(readFileSync(join(dir, "pids"), "utf8")), () => "no pids file");
  const [daemon, child] = readFileSync(join(dir, "pids"), "utf8").split(" ").map(Number) as [number, number];
  leftRunning.push(child, daemon);
  const request = await runToEnd([CKPT, "checkpoint", String(daemon)], { cwd: dir });
  expect(request.code).toBe(1);
  expect(request.stderr).toContain(`process ${child} (sleep) was started after the program ckpt launched had exited, so ckpt stays out of it`);
  expect(request.stderr.trim()).toEndWith("the program continues");
  await Bun.sleep(200);
  expect(alive(child)).toBe(true);
  expect(alive(daemon)).toBe(true);
}, 60000);

test("two daemons left running by one launch: a checkpoint of either is refused naming the other (both would write the one image), and both count on", async () => {
  const [a, b] = [join(dir, "a"), join(dir, "b")];
  mkdirSync(a), mkdirSync(b);
  const launch = await runToEnd([CKPT, "bash", "-c", `"$0" "$1"; "$0" "$2"`, fixture("daemon-counter"), a, b], { cwd: dir });
  expect(launch.code).toBe(0);
  const pidIn = (d: string) => Number(readFileSync(join(d, "pid"), "utf8"));
  await until(() => existsSync(join(a, "pid")) && existsSync(join(b, "pid")), () => "no pid files");
  leftRunning.push(pidIn(a), pidIn(b));
  const refused = await runToEnd([CKPT, "checkpoint", String(pidIn(a))], { cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split("\n")).toHaveLength(1);
  expect(refused.stderr).toContain(`is not the only one: process ${pidIn(b)} (daemon-counter) was left running by it too, and both would write the one image`);
  const lines = (d: string) => readFileSync(join(d, "count"), "utf8").split("\n").length;
  const [na, nb] = [lines(a), lines(b)];
  await until(() => lines(a) > na + 2 && lines(b) > nb + 2, () => "not counting on");
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 30000);

test("ssh-agent without -D: a key added before, checkpoint of the agent it left running, restart returns 0, ssh-add -l lists the key on the same socket", async () => {
  const agent = join(dir, "ssh-agent");
  copyFileSync(need("ssh-agent", "openssh-client"), agent); // without Debian's setgid bit, which the loader would honour
  chmodSync(agent, 0o755);
  need("ssh-add", "openssh-client");
  need("ssh-keygen", "openssh-client");
  const env = { SSH_AUTH_SOCK: join(dir, "agent.sock") };
  const launch = await runToEnd([CKPT, agent, "-s", "-a", env.SSH_AUTH_SOCK], { cwd: dir });
  expect(launch.code).toBe(0);
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(launch.stdout)![1]);
  leftRunning.push(pid);
  expect((await runToEnd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "key", "-C", "ckpt-daemon"], { cwd: dir })).code).toBe(0);
  expect((await runToEnd(["ssh-add", "key"], { cwd: dir, env })).code).toBe(0);
  const before = await runToEnd(["ssh-add", "-l"], { cwd: dir, env });
  expect(before.stdout).toContain("ckpt-daemon (ED25519)");

  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.stderr).toBe("");
  expect(request.code).toBe(0);
  await until(() => !alive(pid), () => "the agent still runs after a stop-mode checkpoint");
  expect((await runToEnd(["ssh-add", "-l"], { cwd: dir, env })).code).toBe(2); // no agent answers

  const restart = await runToEnd([CKPT, "restart"], { cwd: dir }, 20000);
  expect(restart).toMatchObject({ code: 0, stdout: "", stderr: "" });
  const host = hostPid(pid, "ssh-agent");
  expect(host).toBeGreaterThan(0);
  leftRunning.push(host);
  const after = await runToEnd(["ssh-add", "-l"], { cwd: dir, env });
  expect(after.stdout).toBe(before.stdout);
  // It leads its session (as the host numbers it) and has no controlling terminal, as ssh-agent left itself.
  const [, , , session, tty] = readFileSync(`/proc/${host}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  expect([session, tty]).toEqual([host, 0]);
}, 60000);

test("gpg-agent --daemon: checkpointed by ckpt checkpoint, restarted, it answers on its socket with the pid it had", async () => {
  need("gpg-agent", "gpg-agent");
  need("gpg-connect-agent", "gpgconf");
  const env = { GNUPGHOME: join(dir, "gnupg") };
  mkdirSync(env.GNUPGHOME, { mode: 0o700 });
  const agentPid = async () =>
    (await runToEnd(["gpg-connect-agent", "--no-autostart", "getinfo pid", "/bye"], { cwd: dir, env })).stdout.match(/^D (\d+)$/m)?.[1];
  // Its daemon keeps the launcher's stderr open: a pipe would never reach its end.
  const launch = Bun.spawn([CKPT, "gpg-agent", "--daemon"], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "ignore"] });
  expect(await launch.exited).toBe(0);
  const pid = Number(await agentPid());
  leftRunning.push(pid);
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.code).toBe(0);
  // gpg-agent takes SIGUSR2 for itself: ckpt checkpoint says so and still checkpoints it.
  expect(request.stderr).toContain("installed its own handler for signal 12");
  await until(() => !alive(pid), () => "gpg-agent still runs after a stop-mode checkpoint");
  expect(await agentPid()).toBeUndefined();

  const restart = Bun.spawn([CKPT, "restart"], { cwd: dir, stdio: ["ignore", "ignore", "ignore"] });
  expect(await restart.exited).toBe(0);
  leftRunning.push(hostPid(pid, "gpg-agent"));
  expect(await agentPid()).toBe(String(pid));
}, 60000);

test("dbus-daemon --fork as root: its audit netlink socket is refused in one line, and the bus answers on", async () => {
  need("dbus-daemon", "dbus-daemon");
  need("dbus-send", "dbus-bin");
  if (process.getuid!() !== 0) return; // unprivileged it holds no netlink socket: nothing to refuse
  // --print-address last: it takes an optional descriptor number.
  const dbus = await runToEnd([CKPT, "dbus-daemon", "--session", "--fork", "--print-pid", "--print-address"], { cwd: dir });
  expect(dbus.code).toBe(0);
  const address = /^unix:.*$/m.exec(dbus.stdout)![0];
  const pid = Number(/^\d+$/m.exec(dbus.stdout)![0]);
  leftRunning.push(pid);
  const request = await runToEnd([CKPT, "checkpoint", String(pid)], { cwd: dir });
  expect(request.code).toBe(1);
  const lines = request.stderr.trim().split("\n").filter((l) => !l.startsWith("ckpt: warning:"));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ckpt: checkpoint of \d+ failed: fd \d+ \(socket:\[\d+\]: a netlink socket \(AF_NETLINK\), which ckpt does not restore\).*; the program continues$/);
  const names = await runToEnd(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames"],
    { cwd: dir, env: { DBUS_SESSION_BUS_ADDRESS: address } });
  expect(names.stdout).toContain('string "org.freedesktop.DBus"');
}, 30000);
