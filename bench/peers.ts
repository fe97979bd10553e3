// The peers users would otherwise pick, measured in the same run on the
// same workload where they are installed: CRIU (`criu` on the PATH; it
// needs root) and DMTCP (`dmtcp_launch`, without gzip, its fairest mode).
// A peer that fails once (CRIU 3.17 from Debian 12 cannot read this
// kernel's vDSO layout) is reported with its own error line and not tried
// again in the run.
import { $ } from "bun";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { now, seconds, timed } from "./timing.ts";

export interface PeerRound {
  checkpoint_s: number; // until the tool reports the image written (and, for CRIU, the program gone)
  pause_s: number; // how long the program is stopped when it keeps running
  restart_s: number; // see each peer
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

const fileHas = (path: string, text: string) => existsSync(path) && readFileSync(path, "utf8").includes(text);

function dirMiB(dir: string, keep: (name: string) => boolean): number {
  return readdirSync(dir).filter(keep).reduce((n, f) => n + statSync(join(dir, f)).size, 0) / 2 ** 20;
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
    const start = async (images: string) => {
      rmSync(images, { recursive: true, force: true });
      mkdirSync(images, { recursive: true });
      const out = join(images, "..", "criu-out.txt");
      rmSync(out, { force: true });
      const p = Bun.spawn(["setsid", ...workload], { stdin: "ignore", stdout: Bun.file(out), stderr: "ignore" });
      await waitFor(() => fileHas(out, "ready"), "the workload under criu");
      await Bun.sleep(100);
      return p;
    };
    const stopped = join(dir, "criu-images");
    const p = await start(stopped);
    try {
      const checkpoint = await timed(["criu", "dump", "-t", String(p.pid), "-D", stopped, "-o", "dump.log"], { what: "criu dump", log: join(stopped, "dump.log") });
      await p.exited;
      const image_mib = dirMiB(stopped, (f) => f.endsWith(".img"));
      const pidfile = join(dir, "criu.pid");
      rmSync(pidfile, { force: true });
      const restart = await timed(["criu", "restore", "-D", stopped, "-d", "--pidfile", pidfile, "-o", "restore.log"], { what: "criu restore", log: join(stopped, "restore.log") });
      process.kill(Number(readFileSync(pidfile, "utf8")), "SIGKILL");

      const running = join(dir, "criu-images-running");
      const q = await start(running);
      const pause = await timed(["criu", "dump", "-t", String(q.pid), "-D", running, "--leave-running", "-o", "dump.log"], { what: "criu dump --leave-running", log: join(running, "dump.log") })
        .finally(() => q.kill("SIGKILL"));
      return { checkpoint_s: checkpoint, pause_s: pause, restart_s: restart, image_mib };
    } finally {
      p.kill("SIGKILL");
    }
  },
};

/**
 * DMTCP checkpoints from inside, like ckpt, through its coordinator; a
 * blocking checkpoint leaves the program running, so its time is also the
 * pause. Restart is `dmtcp_restart` until the program's first output.
 */
const dmtcp: Peer = {
  name: "dmtcp",
  restartMeans: "`dmtcp_restart` until the program's first output",
  async round(workload, dir) {
    const ckptdir = join(dir, "dmtcp-images");
    const portFile = join(dir, "dmtcp.port");
    rmSync(ckptdir, { recursive: true, force: true });
    mkdirSync(ckptdir, { recursive: true });
    rmSync(portFile, { force: true });
    const out = join(dir, "dmtcp-out.txt");
    const launch = Bun.spawn(
      ["dmtcp_launch", "--new-coordinator", "--coord-port", "0", "--port-file", portFile, "--ckptdir", ckptdir, "--no-gzip", ...workload],
      { stdin: "ignore", stdout: Bun.file(out), stderr: "ignore" },
    );
    let restarted: ReturnType<typeof Bun.spawn> | undefined;
    try {
      await waitFor(() => fileHas(out, "ready") && existsSync(portFile), "the workload under dmtcp_launch");
      await Bun.sleep(100);
      const port = readFileSync(portFile, "utf8").trim();
      const checkpoint = await timed(["dmtcp_command", "--coord-port", port, "--bcheckpoint"], { what: "dmtcp_command --bcheckpoint" });
      await $`dmtcp_command --coord-port ${port} --kill`.quiet().nothrow();
      await launch.exited;
      const images = readdirSync(ckptdir).filter((f) => f.endsWith(".dmtcp")).map((f) => join(ckptdir, f));
      if (images.length === 0) throw new Error("dmtcp wrote no checkpoint image");
      const image_mib = images.reduce((n, f) => n + statSync(f).size, 0) / 2 ** 20;
      const reout = join(dir, "dmtcp-restart-out.txt");
      const t = now();
      restarted = Bun.spawn(["dmtcp_restart", "--new-coordinator", "--coord-port", "0", ...images], { stdin: "ignore", stdout: Bun.file(reout), stderr: "ignore" });
      await waitFor(() => fileHas(reout, "alive"), "the first output after dmtcp_restart");
      return { checkpoint_s: checkpoint, pause_s: checkpoint, restart_s: seconds(now() - t), image_mib };
    } finally {
      launch.kill("SIGKILL");
      restarted?.kill("SIGKILL");
    }
  },
};

/** The peers installed here (CRIU only when running as root, which it needs). */
export function installedPeers(): Peer[] {
  const peers: Peer[] = [];
  if (onPath("criu") && process.getuid?.() === 0) peers.push(criu);
  if (onPath("dmtcp_launch") && onPath("dmtcp_command") && onPath("dmtcp_restart")) peers.push(dmtcp);
  return peers;
}
