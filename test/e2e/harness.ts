// End-to-end helpers: spawn the real dist/ckpt against the demos and the
// test fixtures in a fresh temporary directory, with a deadline on
// everything so a hang fails the test instead of blocking the run.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { afterEach, beforeEach } from "bun:test";

export const ROOT = join(import.meta.dir, "..", "..");
export const CKPT = join(ROOT, "dist", "ckpt");
export const DEMOS = join(ROOT, "build", "demos");
export const FIXTURES = join(ROOT, "build", "fixtures");
export const EXIT_CHECKPOINTED = 85;

/** The build of `name` (a variant such as "-nopie" allowed) from the C source in `dir`: a
 * program that moved away fails here, not by running a stale copy left in build/. */
function built(dir: string, out: string, name: string): string {
  const source = name.replace(/(-nopie)?(-rdynamic)?$/, "");
  if (!existsSync(join(ROOT, dir, `${source}.c`))) throw new Error(`no ${dir}/${source}.c`);
  return join(out, name);
}

/** A program of demos/ (what a user runs to see ckpt work), as built. */
export function demo(name: string): string {
  return built("demos", DEMOS, name);
}

/**
 * A program of test/fixtures/ built with musl-gcc from NAME.musl.c, as
 * NAME-musl or (`static`) NAME-musl-static; null where the build had no
 * musl-gcc (it then builds none, and says so).
 */
export function muslFixture(name: string, linked: "dynamic" | "static" = "dynamic"): string | null {
  if (!existsSync(join(ROOT, "test/fixtures", `${name}.musl.c`))) throw new Error(`no test/fixtures/${name}.musl.c`);
  const path = join(FIXTURES, `${name}-musl${linked === "static" ? "-static" : ""}`);
  return existsSync(path) ? path : null;
}

/** A program of test/fixtures/ (only the tests run it), as built. */
/** `command`'s path (a name on PATH, or an absolute path), or a failure
 * naming the Debian package that has it: a missing tool never passes
 * (.ci/run installs them all). */
export function need(command: string, pkg: string): string {
  const path = command.startsWith("/") ? (existsSync(command) ? command : null) : Bun.which(command);
  if (!path) throw new Error(`${command} is missing: install the Debian package ${pkg} (.ci/run does)`);
  return path;
}

export function fixture(name: string): string {
  return built("test/fixtures", FIXTURES, name);
}

export function tempDir(label = "ckpt-e2e-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), label));
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(straceLog(dir), { force: true });
  };
  return { dir, cleanup };
}

/**
 * A directory outside the temporary directories (under build/), for files
 * a test means as the program's lasting files: a checkpoint keeps the bytes
 * of a small file open in /tmp, /var/tmp or /dev/shm, and a restart makes
 * it again if it is gone (c/kinds/fd_file.c); one here is only reopened.
 */
export async function inLastingDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const lasting = lastingDir();
  try {
    return await use(lasting.dir);
  } finally {
    lasting.cleanup();
  }
}

function lastingDir(): { dir: string; cleanup: () => void } {
  const temporary = (p: string) => ["/tmp/", "/var/tmp/", "/dev/shm/"].some((t) => `${p}/`.startsWith(t));
  // A clone of the repository may itself live in /tmp (as CI's may).
  const under = [join(ROOT, "build"), join(homedir(), ".cache")].map((d) => (mkdirSync(d, { recursive: true }), realpathSync(d))).find((d) => !temporary(d));
  if (!under) throw new Error(`no directory outside /tmp, /var/tmp and /dev/shm for a test's lasting files: ${ROOT}/build and ${homedir()}/.cache are both in one`);
  const dir = mkdtempSync(join(under, "ckpt-test-lasting-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where strace() writes its log for `dir`: beside it, not in it (the image directory). */
const straceLog = (dir: string) => `${dir}.strace`;

/** A running process whose stdout and stderr are collected as they arrive. */
export class Running {
  stdout = "";
  stderr = "";
  readonly done: Promise<number>;
  constructor(readonly proc: Subprocess<"ignore" | "pipe" | "inherit", "pipe", "pipe">) {
    const pump = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this[into] += decoder.decode(chunk, { stream: true });
    };
    const streams = Promise.all([pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")]);
    this.done = proc.exited.then(async (code) => {
      await streams;
      return code;
    });
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Resolves once stdout satisfies `ready`; rejects on exit or deadline. */
  async waitFor(ready: (out: string) => boolean, ms = 20000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready(this.stdout)) {
      if (this.proc.exitCode !== null) throw new Error(`exited (${this.proc.exitCode}) before ready; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`not ready after ${ms} ms; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await Bun.sleep(10);
    }
  }

  /**
   * Exit code, or a failure (after SIGKILL) if it takes longer than `ms`.
   * Its output ends when every holder of the pipes has ended: a process
   * that outlives it (one it double-forked) would hold them open for ever,
   * so they get `ms` more once it exited, 2 s once it was killed.
   */
  async exit(ms = 30000): Promise<number> {
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), ms);
    const code = await this.proc.exited;
    clearTimeout(timer);
    const killed = this.proc.signalCode === "SIGKILL";
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.done, new Promise((give) => (grace = setTimeout(give, killed ? 2000 : ms)))]);
    clearTimeout(grace);
    if (killed) throw new Error(`killed after ${ms} ms; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
    return code;
  }
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  stdin?: "ignore" | "pipe" | "inherit";
}

export function spawn(cmd: string[], opts: SpawnOptions): Running {
  const env = { ...process.env, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Running(
    Bun.spawn(cmd, { cwd: opts.cwd, env: env as Record<string, string>, stdin: opts.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" }),
  );
}

export function ckpt(args: string[], opts: SpawnOptions): Running {
  return spawn([CKPT, ...args], opts);
}

/** Runs to the end and returns what it printed and its exit code. */
export async function runToEnd(cmd: string[], opts: SpawnOptions, ms = 60000) {
  const r = spawn(cmd, opts);
  const code = await r.exit(ms);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

export function lines(out: string): number {
  return out.split("\n").length - 1;
}

/**
 * Launches `program` under ckpt, sends the checkpoint signal once it has
 * printed `afterLines` lines, and waits for it to stop with status 85.
 */
export async function checkpointRun(program: string[], opts: SpawnOptions & { afterLines: number; ckptArgs?: string[] }) {
  const run = ckpt([...(opts.ckptArgs ?? []), ...program], opts);
  await run.waitFor((out) => lines(out) >= opts.afterLines);
  process.kill(run.pid, "SIGUSR2");
  const code = await run.exit();
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** Polls `ready` every few ms; throws with `what` after `ms`. */
export async function until(ready: () => boolean, what: () => string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await Bun.sleep(2);
  }
}

/** Every process below `pid` now, breadth first, through each thread's /proc children list (one that ends meanwhile is left out). */
export function descendants(pid: number): number[] {
  const read = (path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return ""; // the thread ended
    }
  };
  const children = (p: number): number[] => {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      return []; // gone
    }
    return tids.flatMap((t) => read(`/proc/${p}/task/${t}/children`).trim().split(" ").filter(Boolean).map(Number));
  };
  const out: number[] = [];
  for (let queue = children(pid); queue.length; ) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

/**
 * SIGKILLs every process of `list` still running, with the processes below
 * it (a child left waiting for a restart would outlive the test under
 * init), and empties it: an afterEach for tests that fail midway.
 */
export function killStillRunning(list: Running[]): void {
  for (const r of list.splice(0)) {
    if (r.proc.exitCode !== null || r.proc.signalCode !== null) continue;
    const below = descendants(r.proc.pid);
    r.proc.kill("SIGKILL");
    for (const pid of below) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {} // ended meanwhile
    }
  }
}

/**
 * For each test of the calling file: a fresh temporary directory, handed
 * to `use` before it; after it, whatever `running` still holds is killed
 * and the directory removed.
 *
 * @example let dir: string; eachTestInTempDir((d) => (dir = d));
 */
export function eachTestInTempDir(use: (dir: string) => void, running: Running[] = []): void {
  let cleanup = () => {};
  beforeEach(() => {
    const t = tempDir();
    cleanup = t.cleanup;
    use(t.dir);
  });
  afterEach(() => {
    killStillRunning(running);
    cleanup();
  });
}

/**
 * strace attached to `pid` (and the threads and children it makes), its log
 * beside `dir` (not in it), or null (reason printed) where it cannot be.
 */
export async function strace(dir: string, pid: number, args: string[]): Promise<{ proc: Running; log: string } | null> {
  const bin = Bun.which("strace");
  if (!bin) {
    console.warn("skipped: strace is not installed");
    return null;
  }
  const log = straceLog(dir);
  const proc = spawn([bin, "-f", "-o", log, "-p", String(pid), ...args], { cwd: dir });
  await until(() => proc.stderr.includes("attached") || proc.proc.exitCode !== null, () => proc.stderr);
  if (!proc.stderr.includes("attached")) {
    console.warn(`skipped: strace cannot attach (${proc.stderr.trim()})`);
    return null;
  }
  return { proc, log };
}

/**
 * The restored program behind `ckpt restart`'s pid: after a restart into a
 * pid namespace that pid is the supervisor's, and the program is its oldest
 * descendant past `ckpt-init` and `ckpt-parent`; otherwise the pid itself.
 */
export function restoredPid(pid: number): number {
  const comm = (p: number) => readFileSync(`/proc/${p}/comm`, "utf8").trim();
  const oldestChild = (p: number) => Number(readFileSync(`/proc/${p}/task/${p}/children`, "utf8").split(" ")[0]);
  if (comm(pid) !== "ckpt-supervisor") return pid;
  let at = oldestChild(pid);
  while (at && (comm(at) === "ckpt-init" || comm(at) === "ckpt-parent")) at = oldestChild(at);
  return at;
}
