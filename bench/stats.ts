// What the benchmark computes from its rounds and parses from its
// workload, kept apart from the runs so unit tests can check it
// (test/unit/bench-stats.test.ts).

/** Median with the range around it; a disk shared with other work is noisy, and the range says how much. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** The spread of the finite values in `xs` (a round that could not measure gives NaN), or undefined if none is. */
export function spread(xs: number[]): Spread | undefined {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length };
}

/**
 * The two things a round compares, the first going first in even rounds
 * and second in odd ones. In this VM the second of two 1 GiB restarts in a
 * row got memory the first had just freed, which the host still backed,
 * and ran up to a third faster (docs/performance.md, "Which restart goes
 * first"): a fixed order measured the order.
 */
export function inTurn<T>(round: number, pair: readonly [T, T]): [T, T] {
  return round % 2 ? [pair[1], pair[0]] : [pair[0], pair[1]];
}

/** "12.3 (10.1-15.2)" in the unit `scale` turns the value into, with `digits` decimals; "-" when nothing was measured. */
export function showSpread(s: Spread | undefined, scale = 1, digits = 1): string {
  if (!s) return "-";
  const f = (v: number) => (v * scale).toFixed(digits);
  return s.n === 1 || s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
}

/** One measuring window of the workload (heap-workload.c), as it prints it when the window ends. */
export interface GapWindow {
  window: number;
  longestNs: number;
  fromNs: number; // CLOCK_MONOTONIC at the start of the longest gap
  reads: number;
}

const GAP_LINE = /^window (\d+) longest gap (\d+) ns from (\d+) after (\d+) reads$/;

/** The window `n`'s line in the workload's output, or undefined if it has not printed it (or printed it garbled). */
export function gapWindow(output: string, n: number): GapWindow | undefined {
  for (const line of output.split("\n")) {
    const m = line.match(GAP_LINE);
    if (m && Number(m[1]) === n) return { window: n, longestNs: Number(m[2]), fromNs: Number(m[3]), reads: Number(m[4]) };
  }
  return undefined;
}

/** A `/proc/PID/status` size field ("VmHWM:   123 kB") in bytes, or NaN if absent. */
export function statusBytes(status: string, field: string): number {
  const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"));
  return m ? Number(m[1]) * 1024 : NaN;
}
