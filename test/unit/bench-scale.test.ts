// The bench's scale table (bench/scale.ts): figures per GiB, per thread
// and per region, as the README and docs/performance.md quote them.
import { expect, test } from "bun:test";
import { perUnitTable, type ScaleRow } from "../../bench/scale.ts";
import { spread } from "../../bench/stats.ts";

const figures = (checkpoint: number, restart: number, size: number, memory: number) => ({
  checkpoint_s: spread([checkpoint]), exit_s: spread([checkpoint]), restart_s: spread([restart]),
  size_b: spread([size]), pause_observed_s: spread([NaN]), memory_b: spread([memory]),
});

test("perUnitTable: a heap per GiB with its ratio to the 1 GiB row; threads and regions as the difference to the base, per unit", () => {
  const oneGiB = figures(0.5, 0.4, 2 ** 30, 8 * 2 ** 20);
  const base = figures(0.1, 0.2, 64 * 2 ** 20, 8 * 2 ** 20);
  const rows: ScaleRow[] = [
    { workload: "8192 MiB dirty", mib: 8192, figures: figures(4.4, 3.2, 8 * 2 ** 30, 9 * 2 ** 20), units: { count: 8, unit: "GiB" } },
    { workload: "64 MiB + 100 threads", mib: 64, figures: figures(0.2, 0.2, 65 * 2 ** 20, 9 * 2 ** 20), units: { count: 100, unit: "thread", base } },
    { workload: "not a scale row", mib: 1, figures: base },
  ];
  const [head, heap, threads, ...rest] = perUnitTable(rows, oneGiB);
  expect(head!.split("\t")).toEqual(["workload", "unit", "checkpoint", "exit", "restart", "size", "pause_observed", "ckpt_memory_mib", "vs_1GiB_checkpoint", "vs_1GiB_restart"]);
  expect(heap!.split("\t")).toEqual(["8192 MiB dirty", "per GiB", "550.000", "550.000", "400.000", "1024.000", "-", "9.0", "8.80", "8.00"]);
  expect(threads!.split("\t")).toEqual(["64 MiB + 100 threads", "per thread", "1.000", "1.000", "0.000", "0.010", "-", "9.0", "-", "-"]);
  expect(rest).toEqual([]);
});
