// `bun bench/lazy.ts` (also in `bun run bench`): `ckpt restart --lazy`
// against an eager restart of the same image, side by side in one run.
// The workload (lazy-workload.c) holds BENCH_LAZY_MIB (default 1024) MiB
// of heap; after a restart it prints "first" before touching anything,
// "one" once it has read a word in the middle of the heap, then reads all
// of it and prints "touched". Measured from the spawn of `ckpt restart` to
// each line: the first is what --lazy is for, the second what a first
// touch of the heap waits for, the third what it costs in all. The image is in the page cache for both (the
// checkpoint just wrote it, and every round reads it). Every figure is the
// median of BENCH_REPEAT rounds with its range, eager and lazy taking turns
// to go first (inTurn). Not a test: no thresholds.
import { $ } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { collect } from "./collect.ts";
import { inTurn, showSpread, spread } from "./stats.ts";
import { now } from "./timing.ts";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const MIB = Number(process.env.BENCH_LAZY_MIB ?? 1024);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-lazy-"));
const workload = join(work, "workload");

await $`cc -O2 -o ${workload} ${join(import.meta.dir, "lazy-workload.c")}`;

async function checkpointWorkload(): Promise<void> {
  const p = Bun.spawn([CKPT, workload, String(MIB)], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout);
  await out.until("ready");
  p.kill("SIGUSR2");
  if ((await p.exited) !== 85) throw new Error("the workload did not stop with 85");
}

/** ms from spawn to "first", to "one" and to "touched". */
async function restartRound(lazy: boolean): Promise<[number, number, number]> {
  const t = now();
  const p = Bun.spawn([CKPT, "restart", ...(lazy ? ["--lazy"] : [])], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("first");
  const first = now() - t;
  await out.until("one");
  const one = now() - t;
  await out.until("touched");
  const touched = now() - t;
  if ((await p.exited) !== 0 || !out.text.includes("touched ok") || err.text !== "")
    throw new Error(`restart${lazy ? " --lazy" : ""} failed: ${out.text} ${err.text}`);
  return [first, one, touched];
}

try {
  await checkpointWorkload();
  const rounds: Record<"eager" | "lazy", [number, number, number][]> = { eager: [], lazy: [] };
  for (let i = 0; i < REPEAT; i++)
    for (const mode of inTurn(i, ["eager", "lazy"] as const)) rounds[mode].push(await restartRound(mode === "lazy"));
  console.log(`restart of a ${MIB} MiB heap, median of ${REPEAT} (range)`);
  console.log("         to first output (ms)   to a first touch of the heap (ms)   to all memory touched (ms)");
  for (const mode of ["eager", "lazy"] as const) {
    const column = (k: number) => showSpread(spread(rounds[mode].map((r) => r[k]!)), 1, 0);
    console.log(`${mode.padEnd(8)} ${column(0).padStart(22)} ${column(1).padStart(35)} ${column(2).padStart(28)}`);
  }
  const median = (mode: "eager" | "lazy") => spread(rounds[mode].map((r) => r[2]))?.median ?? NaN;
  const ratio = median("lazy") / median("eager");
  console.log(`lazy / eager, all memory touched: ${ratio.toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
