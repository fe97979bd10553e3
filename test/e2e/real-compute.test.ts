// Parallel runtimes long compute jobs are built on (OpenMP's libgomp,
// numpy with OpenBLAS threads, Python threads and multiprocessing.Pool, a
// C++ std::thread pool, Java's ForkJoinPool, node worker_threads on a
// SharedArrayBuffer, xargs -P), tried as a new user would: each is
// checkpointed mid-computation (by SIGUSR2 or by `ckpt checkpoint PID`),
// restarted, and its output must be an uninterrupted run's, to the last digit.
// A missing tool fails, naming its Debian package.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, need, restoredPid, ROOT, type Running, runToEnd, spawn, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

/** Debian's python3 (a pyenv one on PATH has no python3-numpy), failing unless it has numpy. */
async function numpyPython(): Promise<string> {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) throw new Error("/usr/bin/python3 is not installed: install the Debian package python3");
  const probe = await runToEnd([python, "-c", "import numpy"], { cwd: dir });
  if (probe.code !== 0) throw new Error("numpy is missing from /usr/bin/python3: install the Debian package python3-numpy");
  return python;
}

type How = "kill -USR2" | "ckpt checkpoint";
interface Options {
  env?: Record<string, string>;
  /** The program takes SIGUSR2 for itself (a JVM, GNU xargs): ckpt's warning and restart note about it are expected. */
  ownsSignal?: boolean;
  /** A warning the checkpoint may print first, depending on when it comes (GNU parallel blocks SIGUSR2 at times). */
  mayWarn?: RegExp;
  ready?: (run: Running, where: string) => boolean;
}

/**
 * Runs `cmd` uninterrupted in DIR/ref, then under ckpt in DIR/run until it
 * has printed `afterLines` lines (or `ready`), checkpoints it `how`,
 * restarts it and waits for its end. Returns both outputs.
 */
async function acrossRestart(cmd: string[], how: How, afterLines: number, opts: Options = {}) {
  const ref = join(dir, "ref"), where = join(dir, "run");
  mkdirSync(ref), mkdirSync(where);
  const reference = await runToEnd(cmd, { cwd: ref, env: opts.env });
  expect(reference.stderr).toBe("");
  expect(reference.code).toBe(0);
  const run = ckpt(cmd, { cwd: where, env: opts.env });
  running.push(run);
  const ready = opts.ready ?? ((r: Running) => lines(r.stdout) >= afterLines);
  await until(() => ready(run, where) || run.proc.exitCode !== null, () => `not ready; stdout ${run.stdout} stderr ${run.stderr}`);
  expect(run.proc.exitCode).toBeNull(); // still at work: the checkpoint is mid-computation
  if (how === "kill -USR2") process.kill(run.pid, "SIGUSR2");
  else expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: where })).code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  // Anywhere in the output: a program may also block the trigger, a warning of its own (mayWarn).
  const ownsSignal = /^ckpt: (warning|note): [^\n]*its own handler for signal 12[^\n]*\n|^ckpt: note: this program took signal 12[^\n]*\n/gm;
  const unwarned = opts.mayWarn ? run.stderr.replace(opts.mayWarn, "") : run.stderr;
  const said = opts.ownsSignal ? unwarned.replace(ownsSignal, "") : unwarned;
  expect(said).toMatch(/^ckpt: (checkpoint written to|taking a checkpoint into) [^\n]*\n$/);
  const rest = await runToEnd([CKPT, "restart"], { cwd: where, env: opts.env });
  expect(opts.ownsSignal ? rest.stderr.replace(ownsSignal, "") : rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  return { ref, where, reference: reference.stdout, stdout: run.stdout + rest.stdout };
}

// Two and four threads (four on two cores: threads preempted mid-region),
// idle threads spinning forever or sleeping on a futex, checkpointed early
// and late, by either trigger.
const OPENMP: [env: Record<string, string>, afterLines: number, how: How][] = [
  [{ OMP_NUM_THREADS: "2" }, 3, "kill -USR2"],
  [{ OMP_NUM_THREADS: "4", OMP_WAIT_POLICY: "passive" }, 5, "ckpt checkpoint"],
  [{ OMP_NUM_THREADS: "2", GOMP_SPINCOUNT: "infinite" }, 8, "kill -USR2"],
  [{ OMP_NUM_THREADS: "4", OMP_WAIT_POLICY: "active" }, 2, "ckpt checkpoint"],
];
for (const [env, afterLines, how] of OPENMP)
  test(`OpenMP (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}) in parallel for / barrier / critical / tasks, checkpointed (${how}) after ${afterLines} rounds: every round's numbers and a second region with the whole pool, as uninterrupted`, async () => {
    const r = await acrossRestart([fixture("openmp-rounds"), "16"], how, afterLines, { env });
    expect(r.stdout).toBe(r.reference);
    expect(r.stdout).toEndWith(`second region: ${env.OMP_NUM_THREADS} threads\n`);
  }, 60000);

test("OpenMP (4 threads, passive), checkpointed, restarted, checkpointed again (ckpt checkpoint) mid-run and restarted: the three parts make an uninterrupted run", async () => {
  const env = { OMP_NUM_THREADS: "4", OMP_WAIT_POLICY: "passive" };
  const cmd = [fixture("openmp-rounds"), "120"];
  const reference = await runToEnd(cmd, { cwd: dir, env });
  const first = ckpt(cmd, { cwd: dir, env });
  running.push(first);
  await first.waitFor((out) => lines(out) >= 4);
  process.kill(first.pid, "SIGUSR2");
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  const second = ckpt(["restart"], { cwd: dir, env });
  running.push(second);
  await second.waitFor((out) => lines(out) >= 10);
  expect((await runToEnd([CKPT, "checkpoint", String(restoredPid(second.pid))], { cwd: dir })).code).toBe(0);
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  const third = await runToEnd([CKPT, "restart"], { cwd: dir, env });
  expect(third.stderr).toBe("");
  expect(third.code).toBe(0);
  expect(first.stdout + second.stdout + third.stdout).toBe(reference.stdout);
}, 60000);

const MATRIX_LOOP = `import numpy as np, sys
rng = np.random.default_rng(7)
a = rng.standard_normal((400, 400)); b = rng.standard_normal((400, 400)) / 20
for r in range(int(sys.argv[1])):
    for _ in range(20):
        a = np.tanh(a @ b)
    print(r, "%.12f" % a.sum(), "%.12f" % np.linalg.norm(a), flush=True)
`;

/** Threads of `pid`: numpy's reference BLAS (Debian's default libblas3) would run the products on one. */
const threadCount = (pid: number) => { try { return readdirSync(`/proc/${pid}/task`).length; } catch { return 0; } };

for (const [afterLines, how] of [[6, "kill -USR2"], [24, "ckpt checkpoint"]] as const)
  test(`numpy matrix products on two OpenBLAS threads, checkpointed (${how}) mid-loop: the same sums to the last digit`, async () => {
    const python = await numpyPython();
    writeFileSync(join(dir, "loop.py"), MATRIX_LOOP);
    let threads = 0;
    const r = await acrossRestart([python, "../loop.py", "40"], how, afterLines, {
      env: { OPENBLAS_NUM_THREADS: "2" },
      ready: (run) => lines(run.stdout) >= afterLines && (threads = threadCount(run.pid)) > 0,
    });
    if (threads < 2) throw new Error("numpy ran its products on one thread: install the Debian package libopenblas0-pthread");
    expect(lines(r.stdout)).toBe(40);
    expect(r.stdout).toBe(r.reference);
  }, 60000);

const CHUNK = `import numpy as np, sys
def chunk(seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((200, 200)); w = rng.standard_normal((200, 200)) / 12
    for _ in range(15): m = np.tanh(m @ w)
    return float(m.sum())
`;

test("numpy in four Python threads a round (joined each round), checkpointed mid-loop: the same numbers", async () => {
  const python = await numpyPython();
  writeFileSync(join(dir, "threads.py"), CHUNK + `import threading
for r in range(int(sys.argv[1])):
    out = [0.0] * 4
    def run(i): out[i] = chunk(r * 10 + i)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(r, " ".join("%.12f" % x for x in out), flush=True)
`);
  const r = await acrossRestart([python, "../threads.py", "30"], "kill -USR2", 6, { env: { OPENBLAS_NUM_THREADS: "2" } });
  expect(r.stdout).toBe(r.reference);
}, 60000);

test("multiprocessing.Pool(2) mapping numpy work, checkpointed (ckpt checkpoint) mid-loop: the parent and its workers restart and map the rest", async () => {
  const python = await numpyPython();
  writeFileSync(join(dir, "pool.py"), CHUNK + `import multiprocessing as mp
if __name__ == "__main__":
    with mp.Pool(2) as pool:
        for r in range(int(sys.argv[1])):
            print(r, " ".join("%.12f" % x for x in pool.map(chunk, range(r * 4, r * 4 + 4))), flush=True)
`);
  const r = await acrossRestart([python, "../pool.py", "30"], "ckpt checkpoint", 6, { env: { OPENBLAS_NUM_THREADS: "1" } });
  expect(r.stdout).toBe(r.reference);
}, 60000);

for (const [afterLines, how] of [[5, "kill -USR2"], [20, "ckpt checkpoint"]] as const)
  test(`C++ std::thread pool (condition_variable queue), std::async, atomics and a spinlock, checkpointed (${how}) after ${afterLines} rounds: every round as uninterrupted`, async () => {
    const gxx = need("g++", "g++");
    const program = join(dir, "thread-pool");
    const built = await runToEnd([gxx, "-O1", "-pthread", "-o", program, join(ROOT, "test/fixtures/thread-pool.cpp")], { cwd: dir });
    expect(built.stderr).toBe("");
    const r = await acrossRestart([program, "60"], how, afterLines);
    expect(lines(r.stdout)).toBe(60);
    expect(r.stdout).toBe(r.reference);
  }, 60000);

// The JVM takes SIGUSR2 for itself (ckpt warns, and the signal would reach
// the JVM's own handler), so a JVM is checkpointed with `ckpt checkpoint`.
const PARALLEL_STREAM = `import java.util.stream.*;
public class Par {
  public static void main(String[] a) {
    for (int r = 0; r < Integer.parseInt(a[0]); r++) {
      final int rr = r;
      double s = IntStream.range(0, 400000).parallel().mapToDouble(i -> Math.sin(i * 1e-3 + rr)).sum();
      long c = LongStream.range(0, 2000000).parallel().filter(i -> (i * 31 + rr) % 7 == 0).count();
      System.out.printf("round %d sum %.9f count %d pool %d%n", r, s, c, java.util.concurrent.ForkJoinPool.commonPool().getParallelism());
    }
  }
}
`;

test("java parallelStream() on a three-thread ForkJoinPool, checkpointed (ckpt checkpoint) mid-loop: the same sums", async () => {
  const java = need("java", "openjdk-17-jdk-headless");
  writeFileSync(join(dir, "Par.java"), PARALLEL_STREAM);
  const r = await acrossRestart([java, "-Xmx256m", "-Djava.util.concurrent.ForkJoinPool.common.parallelism=3", "../Par.java", "24"], "ckpt checkpoint", 4,
    { ownsSignal: true });
  expect(r.stdout).toBe(r.reference);
  expect(r.stdout).toContain("pool 3\n");
}, 60000);

// Main posts a round number in a SharedArrayBuffer and Atomics.notify's it;
// three workers Atomics.wait on it, compute, store their results and count
// themselves done: checkpointed with workers blocked in futex waits or mid-loop.
const SHARED_WORKERS = `const { Worker } = require('worker_threads');
const sab = new SharedArrayBuffer(64), cells = new Int32Array(sab);
const src = \`const { workerData: { sab, id } } = require('worker_threads'); const c = new Int32Array(sab);
  for (let seen = 0; ; ) { Atomics.wait(c, 0, seen); seen = Atomics.load(c, 0); if (seen < 0) break;
    let s = 0; for (let i = 0; i < 3e6; i++) s = (s + ((i * (seen + id)) % 1009)) | 0;
    Atomics.store(c, 4 + id, s); Atomics.add(c, 1, 1); Atomics.notify(c, 1); }\`;
const workers = [0, 1, 2].map((id) => new Worker(src, { eval: true, workerData: { sab, id } }));
for (let r = 1; r <= Number(process.argv[2]); r++) {
  Atomics.store(cells, 1, 0); Atomics.store(cells, 0, r); Atomics.notify(cells, 0);
  for (let d; (d = Atomics.load(cells, 1)) < 3; ) Atomics.wait(cells, 1, d);
  console.log('round', r, cells[4], cells[5], cells[6]);
}
Atomics.store(cells, 0, -1); Atomics.notify(cells, 0);
`;

for (const [afterLines, how] of [[10, "kill -USR2"], [40, "ckpt checkpoint"]] as const)
  test(`node worker_threads sharing a SharedArrayBuffer with Atomics.wait/notify, checkpointed (${how}) after ${afterLines} rounds: the same rounds`, async () => {
    writeFileSync(join(dir, "shared.js"), SHARED_WORKERS);
    const r = await acrossRestart([need("node", "nodejs"), "../shared.js", "80"], how, afterLines);
    expect(lines(r.stdout)).toBe(80);
    expect(r.stdout).toBe(r.reference);
  }, 60000);

// GNU xargs takes SIGUSR1 and SIGUSR2 for itself (they raise and lower -P),
// so it is checkpointed with `ckpt checkpoint`.
test("xargs -P2 running CPU-bound awk jobs, checkpointed (ckpt checkpoint) with two jobs under way: every job's result once", async () => {
  need("xargs", "findutils");
  need("mawk", "mawk");
  writeFileSync(join(dir, "in.txt"), Array.from({ length: 30 }, (_, i) => i + 1).join("\n") + "\n");
  const job = `mawk -v n=$0 'BEGIN { s = 0; for (i = 0; i < 1500000; i++) s = (s + i * n) % 1000003; print n, s }'`;
  const script = `xargs -P2 -n1 sh -c "${job.replace(/\$/g, "\\$")}" < ../in.txt > results.txt; sort -n results.txt; echo xargs done`;
  const results = (where: string) => (existsSync(join(where, "results.txt")) ? lines(readFileSync(join(where, "results.txt"), "utf8")) : 0);
  const r = await acrossRestart(["/usr/bin/bash", "-c", script], "ckpt checkpoint", 0, { ownsSignal: true, ready: (_run, where) => results(where) >= 6 });
  expect(lines(r.stdout)).toBe(31);
  expect(r.stdout).toBe(r.reference);
}, 60000);

// OMP_PROC_BIND with OMP_PLACES=cores binds each thread of the pool to a
// core of its own with sched_setaffinity: the restart gives every thread
// its CPUs back (the image shows them) and the run adds up to an
// uninterrupted one.
for (const how of ["kill -USR2", "ckpt checkpoint"] as const)
  test(`OpenMP with OMP_PROC_BIND=true OMP_PLACES=cores, checkpointed (${how}): each thread back on its core, an uninterrupted run's output`, async () => {
    const env = { OMP_NUM_THREADS: "2", OMP_PROC_BIND: "true", OMP_PLACES: "cores" };
    // "cpus": each thread of the pool prints its sched_getaffinity last, from inside.
    const r = await acrossRestart([fixture("openmp-rounds"), "16", "cpus"], how, 3, { env });
    expect(r.stdout).toBe(r.reference);
    expect(r.stdout).toMatch(/\nthread 0 on CPUs \d+\nthread 1 on CPUs \d+\n$/);
    const info = await runToEnd([CKPT, "info", "--json"], { cwd: r.where });
    const cpus = (JSON.parse(info.stdout).threads as { cpus: number[] }[]).map((t) => t.cpus);
    expect(cpus).toHaveLength(2);
    expect(cpus.every((c) => c.length === 1)).toBe(true); // one CPU per core on this machine
    expect(cpus[0]).not.toEqual(cpus[1]);
  }, 60000);

// Where a job may run is the launch's (taskset, a Slurm cpuset): launched
// under taskset -c 0, every thread is on CPU 0 and a restart under taskset
// -c 1 is refused naming one; `--ignore-affinity` (a node numbered
// differently) runs it on the restart's CPU, and its next image holds that.
test("OpenMP launched under taskset -c 0: a restart under taskset -c 1 is refused, with --ignore-affinity it runs and is checkpointed again on CPU 1, an uninterrupted run's output", async () => {
  const taskset = need("taskset", "util-linux");
  const env = { OMP_NUM_THREADS: "2" };
  const cmd = [fixture("openmp-rounds"), "60"];
  const reference = await runToEnd(cmd, { cwd: dir, env });
  const first = spawn([taskset, "-c", "0", CKPT, ...cmd], { cwd: dir, env });
  running.push(first);
  await first.waitFor((out) => lines(out) >= 3);
  expect((await runToEnd([CKPT, "checkpoint", String(first.pid)], { cwd: dir })).code).toBe(0);
  expect(await first.exit()).toBe(EXIT_CHECKPOINTED);
  const refused = await runToEnd([taskset, "-c", "1", CKPT, "restart"], { cwd: dir, env });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^ckpt: cannot restart [^\n]*: thread \d+ \(#0\) may run only on CPUs 0, and this restart may not use CPU 0 \(it may use 1\); [^\n]*--ignore-affinity[^\n]*\n$/);
  const second = spawn([taskset, "-c", "1", CKPT, "restart", "--ignore-affinity"], { cwd: dir, env });
  running.push(second);
  await second.waitFor((out) => lines(out) >= 3);
  expect((await runToEnd([CKPT, "checkpoint", String(restoredPid(second.pid))], { cwd: dir })).code).toBe(0);
  expect(await second.exit()).toBe(EXIT_CHECKPOINTED);
  const info = await runToEnd([CKPT, "info", "--json"], { cwd: dir });
  expect((JSON.parse(info.stdout).threads as { cpus: number[] }[]).map((t) => t.cpus)).toEqual([[1], [1]]);
  const third = await runToEnd([CKPT, "restart"], { cwd: dir, env });
  expect(third.code).toBe(0);
  expect(first.stdout + second.stdout + third.stdout).toBe(reference.stdout);
}, 60000);

// GNU parallel keeps each job's output in a deleted temporary file it holds
// open twice (one descriptor writes, one reads back), and the job's shell
// writes through a dup of one: checkpointed with jobs under way, each file
// comes back once with both opens on it (c/kinds/fd_unlinked.c, reopens),
// so the output is an uninterrupted run's, in order, every job once.
// parallel has a SIGUSR2 handler of its own (and blocks it at times), so
// ckpt's note and warning about that are expected.
test("GNU parallel -j2 -k running CPU-bound awk jobs, checkpointed (ckpt checkpoint) mid-run: its twice-open deleted temporary files come back, the output an uninterrupted run's", async () => {
  const parallel = need("parallel", "parallel");
  need("mawk", "mawk");
  const job = `mawk -v n={} 'BEGIN { s = 0; for (i = 0; i < 1500000; i++) s = (s + i * n) % 1000003; print n, s }'`;
  const cmd = ["/usr/bin/bash", "-c", `seq 1 24 | ${parallel} -j2 -k --will-cite "${job}"; echo parallel done`];
  const blocked = /^ckpt: warning: the program blocks signal 12, the checkpoint trigger; [^\n]*\n/m;
  const r = await acrossRestart(cmd, "ckpt checkpoint", 4, { ownsSignal: true, mayWarn: blocked });
  expect(lines(r.stdout)).toBe(25);
  expect(r.stdout).toBe(r.reference);
}, 60000);
