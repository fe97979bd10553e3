// Batch jobs on a real Slurm (slurm-cluster.ts starts one): the job scripts
// in demos/ are submitted as they are, the batch shell is signalled as
// `--signal=B:USR2@120` would do near the time limit, Slurm requeues the job
// (on status 85, or by the script's scontrol), and the requeued job resumes
// from the image. Skipped, saying why, when not root or Slurm cannot start.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT, demo, ROOT, runToEnd } from "./harness.ts";
import { Cluster } from "./slurm-cluster.ts";

const started = await Cluster.start();
const cluster = typeof started === "string" ? undefined : started;
if (typeof started === "string") console.warn(`slurm.test.ts: skipping the Slurm tests: ${started}`);
afterAll(async () => await cluster?.stop(), 60000);

// Jobs run copies of ckpt and the demos: a rebuild while a job waits to be
// requeued would otherwise replace the program under its image, and the
// restart would rightly refuse it.
const BIN = cluster ? join(cluster.dir, "bin") : "";
const STEPS = join(ROOT, "demos", "slurm-steps.sh");
if (cluster) {
  mkdirSync(BIN);
  for (const file of [CKPT, demo("counting-test"), demo("threads-count"), demo("ticker"), STEPS])
    copyFileSync(file, join(BIN, file.split("/").pop()!));
}
const program = (name: string) => join(BIN, name);

const JOB = join(ROOT, "demos", "slurm-job.sh");
const TRAP_JOB = join(ROOT, "demos", "slurm-job-trap.sh");

/** The job's output file, split into the program's lines and the job script's and ckpt's own. */
function output(file: string): { program: string[]; notes: string[] } {
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  // A line still being written is not there yet.
  lines.pop();
  const isNote = (l: string) => /^job \d+: start |^ckpt: |^slurmstepd/.test(l);
  return { program: lines.filter((l) => !isNote(l)), notes: lines.filter(isNote) };
}

/** What the output file says besides the program's lines after `restarts` requeues. */
function expectedNotes(id: string, dir: string, restarts: number): string[] {
  const notes: string[] = [];
  for (let k = 0; k <= restarts; k++) {
    notes.push(`job ${id}: start ${k + 1} (restart count ${k}) on localhost`);
    if (k < restarts) notes.push(`ckpt: taking a checkpoint into ${join(dir, `ckpt-${id}.dat`)}`);
  }
  return notes;
}

/**
 * Submits `script PROGRAM...` with ckpt on PATH, and for each entry of
 * `signalAt` waits until the program has printed that many lines, signals
 * the batch shell, and waits until Slurm has requeued and restarted the job
 * and the program prints again. Then waits for the job to end.
 */
async function runJob(c: Cluster, script: string, program: string[], signalAt: number[]) {
  const dir = mkdtempSync(join(c.dir, "job-"));
  const out = join(dir, "out.txt");
  const id = await c.sbatch(dir, out, script, program, { PATH: `${BIN}:${c.env.PATH}` });
  const times: number[] = [];
  for (const [k, lines] of signalAt.entries()) {
    await c.until(() => output(out).program.length >= lines, 30000, () => `${lines} lines from job ${id} (${readTail(out)})`);
    const t0 = Date.now();
    await c.signalBatch(id);
    await c.until(async () => {
      const job = await c.job(id);
      return job.restarts === k + 1 && job.state === "RUNNING";
    }, 30000, () => `job ${id} to be requeued and running again (${readTail(out)})`);
    // Running again is not enough: a signal must not arrive before ckpt has
    // restored the program, so wait for the restarted program's output (the
    // stopped run has exited by now: whatever comes next is the new one's).
    const before = output(out).program.length;
    await c.until(() => output(out).program.length > before || stillRunning(c, id, out), 30000,
      () => `output from restarted job ${id} (${readTail(out)})`);
    times.push(Date.now() - t0);
  }
  await c.until(async () => !/PENDING|RUNNING|REQUEUE|COMPLETING|CONFIGURING/.test((await c.job(id)).state), 60000, () => `job ${id} to end (${readTail(out)})`);
  console.log(`job ${id}: signal to restarted program output ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(", ")}`);
  return { id, dir, job: await c.job(id), ...output(out) };
}

/** False while job `id` runs; throws, with the end of its output, once it has stopped. */
async function stillRunning(c: Cluster, id: string, out: string): Promise<false> {
  const job = await c.job(id);
  if (job.state !== "RUNNING") throw new Error(`job ${id} is ${job.state} (exit ${job.exitCode}): ${readTail(out)}`);
  return false;
}

function readTail(file: string): string {
  return existsSync(file) ? JSON.stringify(readFileSync(file, "utf8").slice(-300)) : "no output file yet";
}

describe.skipIf(!cluster)(`Slurm batch jobs${cluster ? "" : " (skipped: see the warning above)"}`, () => {
  test("a counting job signalled mid-run is requeued on status 85 and resumes: every number once", async () => {
    const r = await runJob(cluster!, JOB, [program("counting-test"), "1"], [3]);
    expect(r.job).toEqual({ state: "COMPLETED", restarts: 1, exitCode: "0:0", reason: "None" });
    expect(r.program).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    expect(r.notes).toEqual(expectedNotes(r.id, r.dir, 1));
  }, 120000);

  test("a multi-threaded job survives a requeue: every round once, all threads joined", async () => {
    const r = await runJob(cluster!, JOB, [program("threads-count"), "8", "60"], [15]);
    expect(r.job).toEqual({ state: "COMPLETED", restarts: 1, exitCode: "0:0", reason: "None" });
    expect(r.program).toEqual([...Array.from({ length: 60 }, (_, i) => `round ${i}: 8 threads ok`), "joined 8 of 8"]);
    expect(r.notes).toEqual(expectedNotes(r.id, r.dir, 1));
  }, 120000);

  test("a job survives three requeues in a row with complete output", async () => {
    const reference = runToEnd([program("ticker"), "400"], { cwd: cluster!.dir });
    const r = await runJob(cluster!, JOB, [program("ticker"), "400"], [60, 140, 220]);
    expect(r.job).toEqual({ state: "COMPLETED", restarts: 3, exitCode: "0:0", reason: "None" });
    expect(r.program.join("\n") + "\n").toBe((await reference).stdout);
    expect(r.notes).toEqual(expectedNotes(r.id, r.dir, 3));
  }, 180000);

  test("a job that is a shell running steps is requeued as one tree, mid-count and mid-pipeline: every line of every step once, in order", async () => {
    // bash, under ckpt, runs counting-test, then counting-test | cat -n | sed:
    // the first signal lands in step 1 (bash and one child), the second, in
    // the restarted tree, in step 2 (bash and a three-process pipeline).
    const r = await runJob(cluster!, JOB, ["bash", program("slurm-steps.sh")], [3, 16]);
    expect(r.job).toEqual({ state: "COMPLETED", restarts: 2, exitCode: "0:0", reason: "None" });
    expect(r.program).toEqual([
      "step 1: count", ...Array.from({ length: 10 }, (_, i) => `${i + 1}`),
      "step 2: pipeline", ...Array.from({ length: 10 }, (_, i) => `line ${i + 1}: ${i + 11}`),
      "step 3: done",
    ]);
    expect(r.notes).toEqual(expectedNotes(r.id, r.dir, 2));
    // The last image is a tree: bash's, and one file per pipeline process
    // beside it (counting-test, cat, sed).
    expect(readdirSync(r.dir).filter((f) => f.startsWith(`ckpt-${r.id}.dat.`))).toHaveLength(3);
  }, 150000);

  test("the trap-and-scontrol-requeue job script works where RequeueExit is not set", async () => {
    // The script ends with 0 after requeueing itself, so RequeueExit=85
    // (set on this cluster) plays no part in the requeue.
    const reference = runToEnd([program("ticker"), "250"], { cwd: cluster!.dir });
    const r = await runJob(cluster!, TRAP_JOB, [program("ticker"), "250"], [60]);
    expect(r.job).toEqual({ state: "COMPLETED", restarts: 1, exitCode: "0:0", reason: "None" });
    expect(r.program.join("\n") + "\n").toBe((await reference).stdout);
    // Slurm stops the requeued run's shell; if it has not ended by then,
    // slurmstepd says so in the output.
    const requeued = new RegExp(`^slurmstepd\\S*: error: \\*\\*\\* JOB ${r.id} ON \\S+ CANCELLED AT \\S+ DUE TO JOB REQUEUE \\*\\*\\*$`);
    expect(r.notes.filter((l) => !requeued.test(l))).toEqual(expectedNotes(r.id, r.dir, 1));
  }, 120000);
});
