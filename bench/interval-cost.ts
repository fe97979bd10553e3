// `bun bench/interval-cost.ts` (part of `npm run bench`): what periodic
// checkpoints cost a write-heavy program, as its throughput shows it
// (issue #16: "throughput with and without --interval"). write-loop.c
// rewrites every page of a BENCH_COST_MIB (default 1024) MiB heap, pass
// after pass, for BENCH_COST_SECONDS (default 12) s: run alone, under ckpt
// without --interval, and under ckpt --interval BENCH_COST_INTERVAL
// (default 4s), rounds interleaved. Passes per second against the run
// alone, and the longest pass (a normal one, or one that a checkpoint
// slowed: the pause, copy-on-write after the writer's fork, tracking's
// first-write faults). Not a test: no thresholds here.
import { $ } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { collect } from "./collect.ts";
import { spread, showSpread } from "./stats.ts";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const MIB = Number(process.env.BENCH_COST_MIB ?? 1024);
const SECONDS = Number(process.env.BENCH_COST_SECONDS ?? 12);
const INTERVAL = process.env.BENCH_COST_INTERVAL ?? "4s";
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-cost-"));
const exe = join(work, "write-loop");
await $`cc -O2 -o ${exe} ${join(import.meta.dir, "write-loop.c")}`;

type Mode = "alone" | "ckpt" | "interval";
const command: Record<Mode, string[]> = {
  alone: [exe, String(MIB), String(SECONDS)],
  ckpt: [CKPT, exe, String(MIB), String(SECONDS)],
  interval: [CKPT, "--interval", INTERVAL, exe, String(MIB), String(SECONDS)],
};

/** Passes per second and the longest pass (ms) of one run. */
async function round(mode: Mode): Promise<[number, number]> {
  rmSync(join(work, "myckpt.dat"), { force: true });
  const p = Bun.spawn(command[mode], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  if ((await p.exited) !== 0) throw new Error(`${mode}: ${out.text} ${err.text}`);
  const m = /passes (\d+) in (\d+) ns, longest pass (\d+) ns/.exec(out.text);
  if (!m || (mode === "interval" && err.text.includes("failed"))) throw new Error(`${mode}: ${out.text} ${err.text}`);
  return [Number(m[1]) / (Number(m[2]) / 1e9), Number(m[3]) / 1e6];
}

try {
  const rounds: Record<Mode, [number, number][]> = { alone: [], ckpt: [], interval: [] };
  for (let i = 0; i < REPEAT; i++) for (const mode of ["alone", "ckpt", "interval"] as const) rounds[mode].push(await round(mode));
  const median = (mode: Mode) => spread(rounds[mode].map((r) => r[0]))!.median;
  console.log(`a ${MIB} MiB heap rewritten pass after pass for ${SECONDS} s, median of ${REPEAT} (range)`);
  console.log("mode                       passes/s     against alone   longest pass (ms)");
  for (const mode of ["alone", "ckpt", "interval"] as const) {
    const label = mode === "alone" ? "alone" : mode === "ckpt" ? "ckpt, no checkpoint" : `ckpt --interval ${INTERVAL}`;
    const passes = showSpread(spread(rounds[mode].map((r) => r[0])), 1, 1);
    const longest = showSpread(spread(rounds[mode].map((r) => r[1])), 1, 0);
    console.log(`${label.padEnd(26)} ${passes.padStart(12)} ${(median(mode) / median("alone")).toFixed(3).padStart(16)} ${longest.padStart(19)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
