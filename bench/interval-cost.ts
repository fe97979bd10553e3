// `bun bench/interval-cost.ts` (part of `npm run bench`): what periodic
// checkpoints cost a write-heavy program, as its throughput shows it
// (issue #16: "throughput with and without --interval"). write-loop.c
// rewrites a BENCH_COST_MIB (default 1024) MiB heap pass after pass, for
// BENCH_COST_SECONDS (default 12) s: run alone, under ckpt without
// --interval, and under ckpt --interval BENCH_COST_INTERVAL (default 4s),
// rounds interleaved. Twice: every page written each pass (the worst case:
// every image stores it all, and is written by a fork), then
// BENCH_COST_HOT_MIB (default 16) MiB of pages spread over the heap, the
// rest unchanged (the case: incremental images written beside the
// program); BENCH_COST_WORKLOADS=hot runs the second alone. Passes per second against the run alone, and the longest pass
// (a normal one, or one that a checkpoint slowed: the pause, copy-on-write
// after the writer's fork, tracking's first-write faults). Not a test: no
// thresholds here.
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
const HOT = Number(process.env.BENCH_COST_HOT_MIB ?? 16);
const WORKLOADS = (process.env.BENCH_COST_WORKLOADS ?? "whole,hot").split(",") as Workload[];
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-cost-"));
const exe = join(work, "write-loop");
await $`cc -O2 -o ${exe} ${join(import.meta.dir, "write-loop.c")}`;

type Mode = "alone" | "ckpt" | "interval";
type Workload = "whole" | "hot";
/** The heap's pages written each pass: all of them, or HOT MiB spread over it. */
const written: Record<Workload, string[]> = { whole: [], hot: [String(HOT)] };
const command = (mode: Mode, w: Workload): string[] => {
  const program = [exe, String(MIB), String(SECONDS), ...written[w]];
  return mode === "alone" ? program : mode === "ckpt" ? [CKPT, ...program] : [CKPT, "--interval", INTERVAL, ...program];
};

/** Passes per second and the longest pass (ms) of one run. */
async function round(mode: Mode, w: Workload): Promise<[number, number]> {
  rmSync(join(work, "myckpt.dat"), { force: true });
  const p = Bun.spawn(command(mode, w), { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  if ((await p.exited) !== 0) throw new Error(`${mode}: ${out.text} ${err.text}`);
  const m = /passes (\d+) in (\d+) ns, longest pass (\d+) ns/.exec(out.text);
  if (!m || (mode === "interval" && err.text.includes("failed"))) throw new Error(`${mode}: ${out.text} ${err.text}`);
  return [Number(m[1]) / (Number(m[2]) / 1e9), Number(m[3]) / 1e6];
}

const modes = ["alone", "ckpt", "interval"] as const;
try {
  for (const w of WORKLOADS) {
    const rounds: Record<Mode, [number, number][]> = { alone: [], ckpt: [], interval: [] };
    for (let i = 0; i < REPEAT; i++) for (const mode of modes) rounds[mode].push(await round(mode, w));
    const median = (mode: Mode) => spread(rounds[mode].map((r) => r[0]))!.median;
    const what = w === "whole" ? "every page rewritten each pass" : `${HOT} MiB of pages spread over it rewritten each pass`;
    console.log(`\na ${MIB} MiB heap, ${what}, for ${SECONDS} s, median of ${REPEAT} (range)`);
    console.log("mode                       passes/s     against alone   longest pass (ms)");
    for (const mode of modes) {
      const label = mode === "alone" ? "alone" : mode === "ckpt" ? "ckpt, no checkpoint" : `ckpt --interval ${INTERVAL}`;
      const passes = showSpread(spread(rounds[mode].map((r) => r[0])), 1, 1);
      const longest = showSpread(spread(rounds[mode].map((r) => r[1])), 1, 0);
      console.log(`${label.padEnd(26)} ${passes.padStart(12)} ${(median(mode) / median("alone")).toFixed(3).padStart(16)} ${longest.padStart(19)}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
