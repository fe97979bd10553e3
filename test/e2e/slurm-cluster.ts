// A real one-node Slurm cluster for the batch tests: Debian's munge and
// Slurm daemons (installed with apt if missing, only with CKPT_TEST_APT=1:
// a test run must not change the machine unasked), run in the foreground as
// children of the test (no systemd), with every file under one temporary
// directory and ports the kernel says are free, so nothing clashes with a
// Slurm that may already run on the machine.
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { EXIT_CHECKPOINTED } from "./harness.ts";

const PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"];
const SBIN_PATH = `/usr/local/sbin:/usr/sbin:/sbin:${process.env.PATH ?? "/usr/bin:/bin"}`;

export interface JobInfo {
  state: string; // PENDING, RUNNING, COMPLETED, FAILED...
  restarts: number;
  exitCode: string; // "status:signal"
  reason: string;
}

export class Cluster {
  private readonly jobs: string[] = [];
  private constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
    private readonly daemons: { name: string; proc: Subprocess; log: string }[],
  ) {}

  /** Starts munged, slurmctld and slurmd; a string says why it could not. */
  static async start(): Promise<Cluster | string> {
    if (process.getuid?.() !== 0) return "not root (the daemons need root)";
    const missing = await installIfMissing();
    if (missing) return missing;
    const dir = mkdtempSync(join(tmpdir(), "ckpt-slurm-"));
    // munged wants every directory above its socket searchable by all.
    chmodSync(dir, 0o755);
    const env = { ...process.env, PATH: SBIN_PATH, SLURM_CONF: join(dir, "slurm.conf") } as Record<string, string>;
    const cluster = new Cluster(dir, env, []);
    try {
      await cluster.launch();
      return cluster;
    } catch (e) {
      await cluster.stop();
      return `Slurm did not start: ${(e as Error).message.replace(/\n+/g, " / ")}`;
    }
  }

  private async launch(): Promise<void> {
    const munge = join(this.dir, "munge");
    mkdirSync(munge, { mode: 0o755 });
    const { uid, gid } = userIds("munge");
    chownSync(munge, uid, gid);
    // A key of our own: no dependency on /etc/munge or a system munged.
    writeFileSync(join(munge, "munge.key"), randomBytes(128), { mode: 0o600 });
    chownSync(join(munge, "munge.key"), uid, gid);
    const socket = join(munge, "socket");
    // setpriv execs in place, so the pid we hold is munged's own.
    this.daemon("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--clear-groups", "munged", "--foreground",
      `--socket=${socket}`, `--key-file=${join(munge, "munge.key")}`, `--log-file=${join(munge, "log")}`,
      `--pid-file=${join(munge, "pid")}`, `--seed-file=${join(munge, "seed")}`]);
    await this.until(() => existsSync(socket), 10000, "munged's socket");

    const [ctldPort, slurmdPort] = freePorts(2);
    writeFileSync(this.env.SLURM_CONF!, slurmConf(this.dir, socket, ctldPort!, slurmdPort!));
    for (const sub of ["state", "spool"]) mkdirSync(join(this.dir, sub));
    this.daemon("slurmctld", ["slurmctld", "-D", "-i"]);
    // The node is called localhost in slurm.conf, whatever the hostname is.
    this.daemon("slurmd", ["slurmd", "-D", "-N", "localhost"]);
    // Until slurmctld listens, sinfo fails: keep the last answer for the message.
    let last = "";
    const idle = async () => (last = await this.run(["sinfo", "-h", "-o", "%T"]).catch((e: Error) => e.message)).trim() === "idle";
    await this.until(idle, 30000, "idle node").catch((e: Error) => {
      throw new Error(`${e.message}\n--- sinfo: ${last}`);
    });
  }

  private daemon(name: string, cmd: string[]): void {
    // In the foreground (-D, -F) each logs to stderr: both streams to one file.
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, "a");
    const proc = Bun.spawn(cmd, { env: this.env, stdin: "ignore", stdout: fd, stderr: fd });
    closeSync(fd);
    this.daemons.push({ name, proc, log });
  }

  /**
   * Polls `ready` every 200 ms; throws naming `what` (with the daemons' logs)
   * after `ms`. A function `what` is asked only then, to show the state at the end.
   */
  async until(ready: () => boolean | Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
    const deadline = Date.now() + ms;
    const name = () => (typeof what === "string" ? what : what());
    while (!(await ready())) {
      const dead = this.daemons.find((d) => d.proc.exitCode !== null || d.proc.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited while waiting for ${name()}\n${this.logs()}`);
      if (Date.now() > deadline) throw new Error(`no ${name()} after ${ms} ms\n${this.logs()}`);
      await Bun.sleep(200);
    }
  }

  /** The end of each daemon's log, for failure messages. */
  logs(): string {
    return this.daemons.map((d) => {
      const text = existsSync(d.log) ? readFileSync(d.log, "utf8") : "";
      return `--- ${d.name}:\n${text.split("\n").slice(-15).join("\n")}`;
    }).join("\n");
  }

  /** Runs a Slurm client command; its stdout, or a thrown error with stderr. */
  async run(cmd: string[], cwd = this.dir, env: Record<string, string> = {}): Promise<string> {
    const p = Bun.spawn(cmd, { cwd, env: { ...this.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err.trim()}`);
    return out;
  }

  /** Submits `script ARGS` from `cwd`, output to `output`; returns the job id. */
  async sbatch(cwd: string, output: string, script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
    const id = (await this.run(["sbatch", "--parsable", `--output=${output}`, script, ...args], cwd, env)).trim();
    this.jobs.push(id);
    return id;
  }

  /** Signals the job's batch shell only, at once, as `--signal=B:USR2` would near the time limit. */
  async signalBatch(id: string, signal = "USR2"): Promise<void> {
    await this.run(["scancel", "--batch", `--signal=${signal}`, id]);
  }

  async job(id: string): Promise<JobInfo> {
    const line = await this.run(["scontrol", "show", "job", "--oneliner", id]);
    const field = (k: string) => line.match(new RegExp(`(?:^| )${k}=(\\S*)`))?.[1] ?? "";
    return { state: field("JobState"), restarts: Number(field("Restarts")), exitCode: field("ExitCode"), reason: field("Reason") };
  }

  /** Cancels our jobs, stops the daemons by pid (last started first), waits for each, removes everything. */
  async stop(): Promise<void> {
    if (this.jobs.length > 0 && this.daemons.length === 3) {
      await this.run(["scancel", ...this.jobs]).catch(() => undefined);
      // The job's own processes end when slurmstepd has finished with them.
      await this.until(async () => {
        const left = await this.run(["squeue", "-h", "-t", "all", "-o", "%T", "-j", this.jobs.join(",")]).catch(() => "");
        return !/RUNNING|COMPLETING|CONFIGURING|SUSPENDED|STOPPED/.test(left);
      }, 20000, "our jobs to end").catch(() => undefined);
    }
    for (const d of this.daemons.splice(0).reverse()) {
      d.proc.kill("SIGTERM");
      const timer = setTimeout(() => d.proc.kill("SIGKILL"), 10000);
      await d.proc.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** undefined once the daemons and clients are there; else why they are not. */
async function installIfMissing(): Promise<string | undefined> {
  const present = () => ["munged", "slurmctld", "slurmd", "sbatch", "scontrol"].every((c) => Bun.which(c, { PATH: SBIN_PATH }));
  if (present()) return undefined;
  if (process.env.CKPT_TEST_APT !== "1")
    return `Slurm is not installed (apt-get install ${PACKAGES.join(" ")}, or set CKPT_TEST_APT=1 to let the tests install it as root)`;
  const p = Bun.spawn(["sh", "-c", `apt-get update -qq && apt-get install -y -qq ${PACKAGES.join(" ")}`], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 300000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code === 0 && present()) return undefined;
  return `Slurm is not installed and apt-get install ${PACKAGES.join(" ")} failed (${code}): ${(err || out).trim().split("\n").slice(-3).join(" ")}`;
}

function userIds(name: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name} (is munge installed?)`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Distinct ports nothing listens on right now (the kernel picks them). */
function freePorts(n: number): number[] {
  const servers = Array.from({ length: n }, () => Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } }));
  const ports = servers.map((s) => s.port);
  for (const s of servers) s.stop(true);
  return ports;
}

/**
 * One node, named localhost. linuxproc and task/none: no cgroups needed.
 * cred_expire=5: Slurm holds a requeued job for cred_expire + 1 s (120 s by
 * default) so the old run's credential cannot start it twice. bf_interval
 * and sched_interval of 1 s: a freed or requeued job starts within a second.
 */
export function slurmConf(dir: string, mungeSocket: string, ctldPort: number, slurmdPort: number): string {
  return `ClusterName=ckpttest
SlurmctldHost=localhost
SlurmctldPort=${ctldPort}
SlurmdPort=${slurmdPort}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${mungeSocket},cred_expire=5
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobRequeue=1
RequeueExit=${EXIT_CHECKPOINTED}
ReturnToService=2
MinJobAge=3600
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus().length} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`;
}
