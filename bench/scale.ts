// The bench's scale rows (issue #17): large heaps, many threads, many
// memory regions, and whether checkpoint, restart and image grow linearly
// with them. Which rows run, whether this machine has room for them now,
// and the per-unit figures computed from the rows once measured.
import { $ } from "bun";
import { readFileSync } from "node:fs";
import type { Spread } from "./stats.ts";

const list = (v: string | undefined, fallback: string) => (v ?? fallback).split(",").filter(Boolean).map(Number);

/** BENCH_SCALE=0 leaves the scale rows out; the sizes are overridable, e.g. for a quick run. */
export const scaleOn = process.env.BENCH_SCALE !== "0";
export const bigHeaps = scaleOn ? list(process.env.BENCH_SCALE_HEAPS, "4096,8192") : [];
export const threadCounts = scaleOn ? list(process.env.BENCH_SCALE_THREADS, "256") : [];
export const regionCounts = scaleOn ? list(process.env.BENCH_SCALE_REGIONS, "10000") : [];

/**
 * Threads and regions ride on this heap, measured as its own row too: the
 * per-thread and per-region figures are the difference to it, and it is
 * large enough that the program's peak is above the launcher's, so ckpt's
 * own memory shows.
 */
export const SCALE_BASE_MIB = 64;

const GiB = 2 ** 30;

/**
 * Why a heap of `mib` cannot run here now, or null: it needs the heap in
 * memory (plus a margin for the restart's, ckpt's and the page cache's
 * working room), and the disk needs the stopping image and the
 * --continue image side by side.
 */
export async function noRoomFor(mib: number, dir: string): Promise<string | null> {
  const bytes = mib * 2 ** 20;
  const available = Number(readFileSync("/proc/meminfo", "utf8").match(/^MemAvailable:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
  const free = Number((await $`df -B1 --output=avail ${dir}`.text()).trim().split("\n").at(-1));
  const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;
  if (available < bytes * 1.25 + GiB) return `skipped: ${gib(available)} of memory available, needs ${gib(bytes * 1.25 + GiB)}`;
  if (free < bytes * 2 + GiB) return `skipped: ${gib(free)} free on ${dir}, needs ${gib(bytes * 2 + GiB)}`;
  return null;
}

type Figures = Record<string, Spread | undefined>;
export interface ScaleRow {
  workload: string;
  mib: number;
  figures: Figures;
  /** What the row adds over the base: GiB of heap, threads or regions. */
  units?: { count: number; unit: "GiB" | "thread" | "region"; base?: Figures };
}

const PER_UNIT = ["checkpoint_s", "exit_s", "restart_s", "size_b", "pause_observed_s"] as const;

/**
 * Each scale row's figures per unit: a heap's per GiB of heap (and its
 * ratio to the 1 GiB row), a thread's or region's as the difference to
 * the base row divided by the count; with ckpt's own memory at that size,
 * which must not grow with it. Medians only: a difference of two ranges
 * is not a range.
 */
export function perUnitTable(rows: ScaleRow[], oneGiB: Figures | undefined): string[] {
  const med = (f: Figures | undefined, k: string) => f?.[k]?.median ?? NaN;
  const fmt = (k: string, v: number) =>
    !Number.isFinite(v) ? "-" : k.endsWith("_s") ? (v * 1000).toFixed(k.endsWith("pause_observed_s") ? 2 : 3) : (v / 2 ** 20).toFixed(3);
  const out = [`workload\tunit\t${PER_UNIT.map((k) => k.replace(/_[sb]$/, "")).join("\t")}\tckpt_memory_mib\tvs_1GiB_checkpoint\tvs_1GiB_restart`];
  for (const r of rows) {
    if (!r.units) continue;
    const { count, unit, base } = r.units;
    const per = (k: string) => (unit === "GiB" ? med(r.figures, k) / count : (med(r.figures, k) - med(base, k)) / count);
    const ratio = (k: string) => (unit === "GiB" && oneGiB ? (med(r.figures, k) / med(oneGiB, k)).toFixed(2) : "-");
    const memory = med(r.figures, "memory_b");
    out.push(
      `${r.workload}\tper ${unit}\t${PER_UNIT.map((k) => fmt(k, per(k))).join("\t")}\t` +
        `${Number.isFinite(memory) ? (memory / 2 ** 20).toFixed(1) : "-"}\t${ratio("checkpoint_s")}\t${ratio("restart_s")}`,
    );
  }
  return out;
}
