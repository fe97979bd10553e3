// Programs nobody here wrote, as a new user would try them: agents that
// serve a Unix socket, and interactive programs on a terminal (a tmux pane).
// Each either comes back exactly (its answer after the restart is the one it
// gave before: a variable, a key, readline's history, a daemon's counter) or
// is refused in one line naming the cause, the program running on.
// A tool that is missing fails its test naming the Debian package (.ci/run
// installs them all).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CKPT, EXIT_CHECKPOINTED, need, Running, runToEnd, spawn, tempDir, until } from "./harness.ts";
import { Pane } from "./tmux-pane.ts";

let dir: string;
let cleanup: () => void;
let pane: Pane | undefined;
const running: Running[] = [];
const daemons: number[] = [];
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(async () => {
  await pane?.close();
  pane = undefined;
  for (const r of running.splice(0)) r.proc.kill("SIGKILL");
  for (const pid of daemons.splice(0))
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  cleanup();
});

/** What `ckpt checkpoint` said besides a warning it passes on from the program's status line. */
const oneLine = (stderr: string) => stderr.trim().split("\n").filter((l) => !l.startsWith("ckpt: warning:"));

test("the installed ssh-agent, setgid as Debian ships it, is refused at launch in one line", async () => {
  const agent = need("ssh-agent", "openssh-client");
  expect(statSync(agent).mode & 0o2000).toBe(0o2000);
  const r = await runToEnd([CKPT, agent, "-D", "-a", join(dir, "agent.sock")], { cwd: dir });
  expect(r.code).not.toBe(0);
  expect(oneLine(r.stderr)).toEqual([`ckpt: ${agent}: is setgid; the dynamic loader ignores LD_PRELOAD for such programs, so ckpt cannot work`]);
}, 30000);

/** A copy of ssh-agent without the setgid bit, which ckpt refuses at launch (the loader ignores LD_PRELOAD for it). */
function sshAgentCopy(): string {
  const copy = join(dir, "ssh-agent");
  copyFileSync(need("ssh-agent", "openssh-client"), copy);
  chmodSync(copy, 0o755);
  return copy;
}

async function sshKey(env: Record<string, string>): Promise<string> {
  need("ssh-keygen", "openssh-client");
  need("ssh-add", "openssh-client");
  expect((await runToEnd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "key", "-C", "ckpt-test"], { cwd: dir })).code).toBe(0);
  expect((await runToEnd(["ssh-add", "key"], { cwd: dir, env })).code).toBe(0);
  const listed = await runToEnd(["ssh-add", "-l"], { cwd: dir, env });
  expect(listed.stdout).toContain("ckpt-test (ED25519)");
  return listed.stdout;
}

test("ssh-agent -D with a key from ssh-add: kill -USR2, restart, ssh-add -l lists the same key, and deleting it works", async () => {
  const env = { SSH_AUTH_SOCK: join(dir, "agent.sock") };
  const agent = spawn([CKPT, sshAgentCopy(), "-D", "-a", env.SSH_AUTH_SOCK], { cwd: dir });
  running.push(agent);
  await agent.waitFor((out) => out.includes("Agent pid"));
  const before = await sshKey(env);
  process.kill(agent.pid, "SIGUSR2");
  expect(await agent.done).toBe(EXIT_CHECKPOINTED);
  const restarted = spawn([CKPT, "restart"], { cwd: dir });
  running.push(restarted);
  let after = await runToEnd(["ssh-add", "-l"], { cwd: dir, env });
  // 2: no agent answers yet.
  for (let i = 0; i < 500 && after.code === 2 && restarted.proc.exitCode === null; i++) {
    await Bun.sleep(20);
    after = await runToEnd(["ssh-add", "-l"], { cwd: dir, env });
  }
  expect(after.stdout).toBe(before);
  expect((await runToEnd(["ssh-add", "-D"], { cwd: dir, env })).code).toBe(0);
  expect((await runToEnd(["ssh-add", "-l"], { cwd: dir, env })).stdout).toContain("no identities");
}, 30000);

/** Run as an unprivileged user (nobody, from root), where dbus-daemon opens no audit socket. */
const unprivileged = () =>
  process.getuid!() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", `HOME=${dir}`] : [];

/** The bus's answer to ListNames: each client gets the next unique name (:1.0, :1.1...), the daemon's own count. */
async function listNames(address: string, as: string[] = []): Promise<string[]> {
  const r = await runToEnd([...as, "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames"],
    { cwd: dir, env: { DBUS_SESSION_BUS_ADDRESS: address } });
  return [...r.stdout.matchAll(/string "([^"]*)"/g)].map((m) => m[1]!);
}

async function startBus(launch: string[]) {
  const bus = spawn([...launch, "dbus-daemon", "--session", "--print-address", "--nofork"], { cwd: dir });
  running.push(bus);
  await bus.waitFor((out) => out.includes("\n"));
  return { bus, address: bus.stdout.trim() };
}

test("dbus-daemon --nofork: unprivileged, restarted, it goes on counting its clients; as root its audit socket (netlink) is refused in one line and it answers on", async () => {
  need("dbus-daemon", "dbus-daemon");
  need("dbus-send", "dbus-bin");
  need("setpriv", "util-linux");
  if (process.getuid!() === 0) {
    // dbus-daemon opens an audit socket only with CAP_AUDIT_WRITE.
    const { bus, address } = await startBus([CKPT]);
    const first = await listNames(address);
    const request = await runToEnd([CKPT, "checkpoint", String(bus.pid)], { cwd: dir });
    expect(request.code).not.toBe(0);
    expect(oneLine(request.stderr)).toHaveLength(1);
    expect(request.stderr).toMatch(/a netlink socket \(AF_NETLINK\), which ckpt does not restore.*the program continues/);
    expect(await listNames(address)).not.toEqual([]);
    expect(await listNames(address)).not.toEqual(first); // a third client, counted on
    bus.proc.kill("SIGKILL");
  }
  const as = unprivileged();
  chmodSync(dir, 0o777);
  // What an uninterrupted bus answers its first and second clients.
  const plain = await startBus(as);
  const first = await listNames(plain.address, as);
  const second = await listNames(plain.address, as);
  expect(second).not.toEqual(first);
  const { bus, address } = await startBus([...as, CKPT]);
  expect(await listNames(address, as)).toEqual(first);
  const request = await runToEnd([...as, CKPT, "checkpoint", String(bus.pid)], { cwd: dir });
  expect(request.stdout).toContain("it stopped with exit status 85");
  expect(await bus.done).toBe(EXIT_CHECKPOINTED);
  running.push(spawn([...as, CKPT, "restart"], { cwd: dir }));
  let names: string[] = [];
  for (let i = 0; i < 500 && names.length === 0; i++) {
    names = await listNames(address, as);
    if (names.length === 0) await Bun.sleep(20);
  }
  expect(names).toEqual(second);
}, 30000);

// Interactive programs in a pane: a line sets state, a check line prints
// "got VALUE" from it; after `ckpt checkpoint` and `ckpt restart` in the
// cleared pane the same check must print the same value, and for readline
// programs the Up key must bring back the check line typed before.
interface Repl {
  cmd: string;
  pkg: string;
  args: string;
  set: string;
  check: string;
  history: boolean;
  /** Its first prompt, to wait for before typing (bc -q shows none). */
  prompt: RegExp;
}
const REPLS: Repl[] = [
  { cmd: "/usr/bin/python3", pkg: "python3", args: "-q", set: "x = 41 * 3", check: "print('got', x * 2)", history: true, prompt: /^>>> ?$/m },
  { cmd: "node", pkg: "nodejs", args: "", set: "let v = 6 * 7", check: "console.log('got', v * 2)", history: true, prompt: /^> ?$/m },
  { cmd: "bc", pkg: "bc", args: "-lq", set: "v = 4 * a(1)", check: 'print "got ", v * 2, "\\n"', history: true, prompt: /^\$ .*bc -lq\s*$/m },
  { cmd: "sqlite3", pkg: "sqlite3", args: "", set: "create table t(a); insert into t values (7); ", check: "select 'got ' || (a * 6) from t; ", history: true, prompt: /^sqlite> ?$/m },
  { cmd: "tclsh", pkg: "tcl", args: "", set: "set v 40", check: 'puts "got [expr {$v + 2}]"', history: false, prompt: /^% ?$/m },
  { cmd: "perl", pkg: "perl", args: "-d -e 'my $z = 5; $z++; print $z'", set: "n", check: 'p "got " . ($z * 2)', history: false, prompt: /DB<1> ?$/m },
];

// At a line's start, or after a prompt: a check line typed before the REPL
// printed its next prompt (tclsh echoes no prompt first) puts the answer there.
const gotValue = (screen: string) => /(?:^|\s)got (\S+)$/m.exec(screen)?.[1];

for (const repl of REPLS) {
  const what = repl.history ? "a variable and readline's history come" : "a variable comes";
  test(`${[repl.cmd.split("/").pop(), repl.args].filter(Boolean).join(" ")} interactive: ${what} back after a restart in the pane`, async () => {
    need("tmux", "tmux");
    const program = need(repl.cmd, repl.pkg);
    pane = new Pane(dir);
    await pane.open();
    await pane.type(`${CKPT} ${program} ${repl.args}`);
    await pane.until((s) => repl.prompt.test(s), "its prompt");
    await pane.type(repl.set);
    await pane.type(repl.check);
    const before = gotValue(await pane.until((s) => gotValue(s) !== undefined, "the answer before the checkpoint"));
    const name = await pane.foreground();
    const request = await runToEnd([CKPT, "checkpoint", String(await pane.program())], { cwd: dir });
    expect(request.stdout + request.stderr).toContain("it stopped with exit status 85");
    await pane.until((s) => /\$ *$/.test(s.trimEnd()), "the shell's prompt");
    await pane.type(`clear; ${CKPT} restart`);
    await pane.untilForeground(name);
    if (repl.history) {
      await pane.keys("Up");
      await pane.until((s) => s.trimEnd().endsWith(repl.check.trimEnd()), "the check line from history");
      await pane.keys("C-u");
    }
    await pane.type(repl.check);
    const after = gotValue(await pane.until((s) => gotValue(s) !== undefined || /cannot restart|Error/.test(s), "the answer after the restart"));
    expect(after).toBe(before);
  }, 30000);
}

test("watch -n0.2 date: after a restart in the pane it redraws and goes on refreshing", async () => {
  need("tmux", "tmux");
  need("watch", "procps");
  pane = new Pane(dir);
  await pane.open();
  const header = /^Every 0\.2s: date/;
  await pane.type(`${CKPT} watch -n0.2 date`);
  await pane.until((s) => header.test(s), "watch's header");
  const request = await runToEnd([CKPT, "checkpoint", String(await pane.program())], { cwd: dir });
  expect(request.stdout + request.stderr).toContain("it stopped with exit status 85");
  await pane.type(`clear; ${CKPT} restart`);
  const first = await pane.until((s) => header.test(s), "watch's header again");
  await pane.until((s) => header.test(s) && s.split("\n")[2] !== first.split("\n")[2], "the next refresh");
}, 30000);

test("gdb running a program: refused in one line naming ptrace, before the program sees any signal; it runs on", async () => {
  need("tmux", "tmux");
  need("gdb", "gdb");
  pane = new Pane(dir);
  await pane.open();
  await pane.type(`${CKPT} gdb -q -nx --args /bin/sleep 1000`);
  await pane.until((s) => s.includes("(gdb)"), "gdb's prompt");
  await pane.type("run");
  const gdb = await pane.program();
  // Its program once it sleeps (gdb stops it in between, to load its symbols).
  const sleeping = (pid: number) =>
    readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep" && /^State:\s+S/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  let traced = 0;
  await until(() => {
    const kids = readFileSync(`/proc/${gdb}/task/${gdb}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
    traced = kids.find(sleeping) ?? 0;
    return traced !== 0;
  }, () => "gdb's program never slept");
  const request = await runToEnd([CKPT, "checkpoint", String(gdb)], { cwd: dir });
  expect(request.code).toBe(1);
  expect(oneLine(request.stderr)).toHaveLength(1);
  expect(request.stderr).toContain(`process ${traced} (sleep) is traced (ptrace) by process ${gdb} (gdb): a restart cannot trace it again`);
  expect(sleeping(traced)).toBe(true);
  expect(await pane.screen()).not.toContain("SIGUSR2");
  await pane.keys("C-c");
  await pane.until((s) => s.includes("SIGINT"), "gdb still in charge of its program");
}, 30000);

test("a process an exited launcher left running in its session: kill -USR2 says why there is no checkpoint, and one exec'd after the launcher exited has the signal mask it would have without ckpt", async () => {
  const blocked = (pid: number) => /^SigBlk:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1];
  const leftRunning = async (launch: string[], script: string) => {
    const r = spawn([...launch, "bash", "-c", `${script} & echo $!`], { cwd: dir });
    running.push(r);
    await r.waitFor((out) => out.includes("\n"));
    const pid = Number(r.stdout.trim());
    daemons.push(pid);
    // In its nanosleep: past exec and every constructor (230: clock_nanosleep).
    const napping = () => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep" && readFileSync(`/proc/${pid}/syscall`, "utf8").startsWith("230 ");
    await until(napping, () => "no sleep yet");
    return { pid, launcher: r };
  };
  // sleep exec'd by a child of a bash that has exited (and been reaped) by then; $$ is that bash.
  const late = "(while kill -0 $$ 2>/dev/null; do sleep 0.05; done; exec sleep 30)";
  const plain = await leftRunning([], late);
  const underCkpt = await leftRunning([CKPT], late);
  expect(blocked(underCkpt.pid)).toBe(blocked(plain.pid));

  const loop = spawn([CKPT, "bash", "-c", "{ while :; do sleep 0.1; done; } & echo $!"], { cwd: dir });
  running.push(loop);
  await loop.waitFor((out) => out.includes("\n"));
  expect(await loop.proc.exited).toBe(0); // its pipes stay open: the loop holds them
  const pid = Number(loop.stdout.trim());
  daemons.push(pid);
  process.kill(pid, "SIGUSR2");
  await until(() => loop.stderr.includes("\n"), () => "no line from the loop");
  // It becomes a root of its own (daemon_root.c), which only a daemon that called setsid() can be.
  const sid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[3]);
  expect(oneLine(loop.stderr)).toEqual([
    `ckpt: checkpoint failed: process ${pid}, left running by the program ckpt launched (process ${loop.pid}, exited), is still in the launch's session ${sid}: only a daemon that called setsid() is checkpointed on its own; the program continues`,
  ]);
  expect(readFileSync(`/proc/${pid}/stat`, "utf8")).not.toMatch(/\) Z /); // running on
}, 30000);
