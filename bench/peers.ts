// The peers users would otherwise pick, measured in the same run on the
// same workload where they are installed: CRIU (`criu` on the PATH; it
// needs root) and DMTCP (`dmtcp_launch`, without gzip, its fairest mode;
// its coordinator listens on TCP, so only in a private network namespace).
//
// A peer's round counts only once its image has been restored and the
// workload's own check passed in that round: the restored program,
// woken with SIGHUP, verifies its heap and prints "alive" (it exits 3
// instead on a wrong pattern). A round that fails throws; the bench then
// shows the peer's reason instead of figures and stops running it.
import { $ } from "bun";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from "node:fs";
import { basename, join } from "node:path";
import { gapWindow } from "./stats.ts";
import { now, seconds, timed } from "./timing.ts";

export interface PeerRound {
  checkpoint_s: number; // until the image is complete (and, stopping, the program gone)
  pause_s: number; // the longest gap the program itself saw while checkpointed and left running
  restart_s: number; // see each peer's restartMeans
  image_mib: number;
}

export interface Peer {
  name: string;
  /** How this peer's restart is timed, for the printed table's legend. */
  restartMeans: string;
  round(workload: string[], dir: string): Promise<PeerRound>;
}

const onPath = (tool: string) => Bun.which(tool) !== null;

async function waitFor(ready: () => boolean, what: string, ms = 40000) {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

const text = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
const fileHas = (path: string, want: string) => text(path).includes(want);
const count = (path: string, want: string) => text(path).split(want).length - 1;

function dirMiB(dir: string, keep: (name: string) => boolean): number {
  return readdirSync(dir).filter(keep).reduce((n, f) => n + statSync(join(dir, f)).size, 0) / 2 ** 20;
}

/**
 * Wakes the restored program and waits for its check to pass ("alive"),
 * else says why the restore failed. One checkpointed inside a measuring
 * window wakes up spinning in it: SIGUSR1 ends the window, then it checks.
 */
async function verifyRestored(pid: number, out: string, wake: "SIGHUP" | "SIGUSR1" = "SIGHUP") {
  const before = count(out, "alive");
  try {
    process.kill(pid, wake);
  } catch {
    throw new Error("restore failed: the restored program is gone");
  }
  await waitFor(() => count(out, "alive") > before, "the restored program's check").catch(() => {
    throw new Error("restore failed: the restored program did not pass its check");
  });
}

/** Opens a measuring window in the workload (heap-workload.c), runs `during`, closes it: the longest gap it saw. */
async function observedPause(pid: number, out: string, window: number, during: () => Promise<unknown>) {
  process.kill(pid, "SIGUSR1");
  await waitFor(() => fileHas(out, `window ${window} spinning`), "the workload's measuring window");
  await during();
  process.kill(pid, "SIGUSR1");
  await waitFor(() => gapWindow(text(out), window) !== undefined, "the workload's longest gap");
  return seconds(gapWindow(text(out), window)!.longestNs / 1e6);
}

/**
 * CRIU dumps from outside with ptrace. The workload runs in its own
 * session (CRIU wants whole sessions unless --shell-job) with its output in
 * a file, which CRIU restores by path. Restart is `criu restore -d` until
 * it returns with the tree running: a sleep CRIU interrupted is resumed,
 * not cut short, so the program's next output would measure its sleep.
 */
const criu: Peer = {
  name: "criu",
  restartMeans: "`criu restore -d` until the program runs",
  async round(workload, dir) {
    const out = join(dir, "criu-out.txt");
    const start = async (images: string) => {
      rmSync(images, { recursive: true, force: true });
      mkdirSync(images, { recursive: true });
      rmSync(out, { force: true });
      const p = Bun.spawn(["setsid", ...workload], { stdin: "ignore", stdout: Bun.file(out), stderr: "ignore" });
      await waitFor(() => fileHas(out, "ready"), "the workload under criu");
      await Bun.sleep(100);
      return p;
    };
    /** `outSize`: the output file's size at the dump, which CRIU checks; a program left running wrote on. */
    const restore = async (images: string, outSize: number, wake: "SIGHUP" | "SIGUSR1") => {
      truncateSync(out, outSize);
      const pidfile = join(dir, "criu.pid");
      rmSync(pidfile, { force: true });
      const s = await timed(["criu", "restore", "-D", images, "-d", "--pidfile", pidfile, "-o", "restore.log"], { what: "criu restore", log: join(images, "restore.log") });
      const pid = Number(readFileSync(pidfile, "utf8"));
      try {
        await verifyRestored(pid, out, wake);
      } finally {
        try { process.kill(pid, "SIGKILL"); } catch { /* gone already */ }
      }
      return s;
    };

    const stopped = join(dir, "criu-images");
    const p = await start(stopped);
    let checkpoint: number, image_mib: number;
    try {
      checkpoint = await timed(["criu", "dump", "-t", String(p.pid), "-D", stopped, "-o", "dump.log"], { what: "criu dump", log: join(stopped, "dump.log") });
      await p.exited;
      image_mib = dirMiB(stopped, (f) => f.endsWith(".img"));
    } finally {
      p.kill("SIGKILL");
    }
    const restart = await restore(stopped, statSync(out).size, "SIGHUP");

    const running = join(dir, "criu-images-running");
    const q = await start(running);
    let pause: number, outSize = 0;
    try {
      pause = await observedPause(q.pid, out, 1, async () => {
        await timed(["criu", "dump", "-t", String(q.pid), "-D", running, "--leave-running", "-o", "dump.log"], { what: "criu dump --leave-running", log: join(running, "dump.log") });
        outSize = statSync(out).size; // the window is still open: the program has written nothing since
      });
    } finally {
      q.kill("SIGKILL");
      await q.exited;
    }
    await restore(running, outSize, "SIGUSR1"); // this image, too, must restore for its pause to count
    return { checkpoint_s: checkpoint, pause_s: pause, restart_s: restart, image_mib };
  },
};

/**
 * DMTCP checkpoints from inside, like ckpt, through its coordinator, and
 * the program runs on. `dmtcp_command --bcheckpoint` of DMTCP 4.2.0
 * returns before the image is written; DMTCP writes it under a temporary
 * name and renames it when complete, so a checkpoint ends when the
 * `.dmtcp` file appears. Each round takes two checkpoints of one program:
 * the first inside a measuring window (the pause it felt), the second
 * outside one (the time, and the image restart is timed on); each image is
 * then restarted and must pass the program's check. Restart is
 * `dmtcp_restart` until the program's first output.
 */
const dmtcp: Peer = {
  name: "dmtcp",
  restartMeans: "`dmtcp_restart` until the program's first output",
  async round(workload, dir) {
    const ckptdir = join(dir, "dmtcp-images");
    const portFile = join(dir, "dmtcp.port");
    const out = join(dir, "dmtcp-out.txt");
    for (const path of [ckptdir, portFile, out]) rmSync(path, { recursive: true, force: true });
    mkdirSync(ckptdir, { recursive: true });
    const launch = Bun.spawn(
      ["dmtcp_launch", "--new-coordinator", "--coord-port", "0", "--port-file", portFile, "--ckptdir", ckptdir, "--no-gzip", ...workload],
      { stdin: "ignore", stdout: Bun.file(out), stderr: "ignore" },
    );
    const images = () => readdirSync(ckptdir).filter((f) => f.endsWith(".dmtcp")).map((f) => join(ckptdir, f));
    const keep = (to: string) => {
      rmSync(to, { recursive: true, force: true });
      mkdirSync(to);
      for (const f of images()) renameSync(f, join(to, basename(f)));
    };
    const restarted: ReturnType<typeof Bun.spawn>[] = [];
    /** Restarts the images in `from`; the time to the first output, or NaN if it wakes up spinning in a window. */
    const restart = async (from: string, wake: "SIGHUP" | "SIGUSR1") => {
      const reout = join(dir, "dmtcp-restart-out.txt");
      rmSync(reout, { force: true });
      const files = readdirSync(from).map((f) => join(from, f));
      const t = now();
      const p = Bun.spawn(["dmtcp_restart", "--new-coordinator", "--coord-port", "0", ...files], { stdin: "ignore", stdout: Bun.file(reout), stderr: "ignore" });
      restarted.push(p);
      let s = NaN;
      if (wake === "SIGHUP") {
        await waitFor(() => fileHas(reout, "alive"), "the first output after dmtcp_restart").catch(() => {
          throw new Error("restore failed: no output from the restarted program");
        });
        s = seconds(now() - t);
      }
      await Bun.sleep(100); // past the restore, so the signal finds the program's handlers
      await verifyRestored(p.pid, reout, wake); // dmtcp_restart becomes the program: same pid
      p.kill("SIGKILL");
      return s;
    };
    const checkpoint = async (port: string) => {
      const t = now();
      await timed(["dmtcp_command", "--coord-port", port, "--bcheckpoint"], { what: "dmtcp_command --bcheckpoint" });
      await waitFor(() => images().length > 0, "dmtcp's image to be complete");
      return seconds(now() - t);
    };
    try {
      await waitFor(() => fileHas(out, "ready") && existsSync(portFile), "the workload under dmtcp_launch");
      await Bun.sleep(100);
      const port = readFileSync(portFile, "utf8").trim();
      const pause = await observedPause(launch.pid, out, 1, () => checkpoint(port));
      keep(join(dir, "dmtcp-in-window"));
      const checkpoint_s = await checkpoint(port);
      await $`dmtcp_command --coord-port ${port} --kill`.quiet().nothrow();
      await launch.exited;
      const image_mib = images().reduce((n, f) => n + statSync(f).size, 0) / 2 ** 20;
      keep(join(dir, "dmtcp-stopped"));
      const restart_s = await restart(join(dir, "dmtcp-stopped"), "SIGHUP");
      await restart(join(dir, "dmtcp-in-window"), "SIGUSR1");
      return { checkpoint_s, pause_s: pause, restart_s, image_mib };
    } finally {
      launch.kill("SIGKILL");
      for (const p of restarted) p.kill("SIGKILL");
    }
  },
};

/** Whether this process has a network namespace of its own (not init's). */
/**
 * Only loopback in this network namespace (/proc/net/dev lists the caller's):
 * the coordinator's port is then reachable from nowhere else. Comparing with
 * /proc/1/ns/net told nothing where pid 1 cannot be looked at (EACCES even
 * for root in some VMs), and DMTCP then never ran.
 */
function privateNetwork(): boolean {
  try {
    const names = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter(Boolean);
    return names.length > 0 && names.every((n) => n === "lo");
  } catch {
    return false;
  }
}

/** Each peer this run can measure, and why each other one is not. */
export function installedPeers(): { peers: Peer[]; absent: Record<string, string> } {
  const peers: Peer[] = [];
  const absent: Record<string, string> = {};
  if (!onPath("criu")) absent.criu = "not installed";
  else if (process.getuid?.() !== 0) absent.criu = "not run: needs root";
  else peers.push(criu);
  if (!(onPath("dmtcp_launch") && onPath("dmtcp_command") && onPath("dmtcp_restart"))) absent.dmtcp = "not installed";
  else if (!privateNetwork()) absent.dmtcp = "not run: needs a private network namespace (in-netns)";
  else peers.push(dmtcp);
  return { peers, absent };
}
