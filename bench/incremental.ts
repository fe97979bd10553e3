// `bun bench/incremental.ts` (part of `npm run bench`): incremental images
// on a 1 GiB heap that dirties 16 MiB of scattered pages between
// checkpoints (incremental-workload.c). In one run: the full first image
// (a first --continue turns no tracking on), the full second one that
// turns it on, and nine incremental ones, each one's size and the pause the program saw
// (the longest gap of its clock-reading loop across the checkpoint, with
// the same window without a checkpoint for this machine's noise); a
// write-heavy pass over the whole heap with and without dirty tracking
// armed; restart from the tenth image of the chain against the full one,
// with the images out of the page cache and in it.
// With BENCH_INCREMENTAL_COMPRESS=1 (a second run in `npm run bench`) every
// checkpoint is --compress: later images read parts of the older images'
// LZ4 blocks.
// Prints a table and writes bench/incremental-results.json (or
// incremental-compress-results.json). Not a test: no thresholds here.
import { $ } from "bun";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collect, gapWindowAround } from "./collect.ts";
import { inTurn, spread } from "./stats.ts";
import { now } from "./timing.ts";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const MIB = Number(process.env.BENCH_INCREMENTAL_MIB ?? 1024);
// The case is 16 MiB of 1 GiB; a smaller heap dirties the same
// share (BENCH_INCREMENTAL_MIB=64: 1 MiB), not a quarter of itself.
const DIRTY = Number(process.env.BENCH_INCREMENTAL_DIRTY_MIB ?? Math.max(1, Math.round(MIB / 64)));
const COMPRESS = process.env.BENCH_INCREMENTAL_COMPRESS === "1";
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-incr-"));
const exe = join(work, "workload");
const image = join(work, "inc.dat");
await $`cc -O2 -I${import.meta.dir} -o ${exe} ${join(import.meta.dir, "incremental-workload.c")}`;

const count = (text: string, what: string) => text.split(what).length - 1;
const lastNumber = (text: string, re: RegExp) => Number([...text.matchAll(re)].at(-1)?.[1] ?? NaN);

const p = Bun.spawn([CKPT, "--continue", ...(COMPRESS ? ["--compress"] : []), "--image", image, exe, String(MIB), String(DIRTY)], { cwd: work, stdout: "pipe", stderr: "pipe" });
const out = collect(p.stdout), err = collect(p.stderr);
let windows = 0;
/** The longest gap (ms) the program saw while `during` ran. */
async function window(during: () => Promise<unknown>): Promise<number> {
  const n = ++windows;
  await gapWindowAround(p, out, n, during);
  return lastNumber(out.text, new RegExp(`window ${n} longest gap (\\d+) ns`, "g")) / 1e6;
}
async function pass(): Promise<number> {
  const n = count(out.text, "pass ") + 1;
  p.kill("SIGWINCH");
  while (count(out.text, "pass ") < n) await Bun.sleep(5);
  return lastNumber(out.text, /pass (\d+) ns/g) / 1e6;
}

const images: { kind: string; size_mib: number; pause_reported_ms: number; pause_observed_ms: number; noise_ms: number; durable_ms: number }[] = [];
const passes: Record<string, number> = {};
try {
  await out.until("ready");
  await pass();
  passes.without_tracking_ms = await pass();
  for (let i = 0; i < 11; i++) {
    if (i > 0) {
      const before = count(out.text, "dirtied ");
      p.kill("SIGHUP");
      while (count(out.text, "dirtied ") === before) await Bun.sleep(5);
    }
    let took = 0;
    const observed = await window(async () => {
      const t = now();
      const before = count(err.text, "checkpoint written");
      p.kill("SIGUSR2");
      while (count(err.text, "checkpoint written") === before) await Bun.sleep(2);
      took = now() - t;
    });
    const noise = await window(() => Bun.sleep(took));
    images.push({
      kind: i === 0 ? "full" : i === 1 ? "full, tracking on" : "incremental",
      size_mib: statSync(image).size / 2 ** 20,
      pause_reported_ms: lastNumber(err.text, /program paused ([\d.]+) ms/g),
      pause_observed_ms: observed,
      noise_ms: noise,
      durable_ms: lastNumber(err.text, /durable after ([\d.]+) ms/g),
    });
  }
  // Armed by the last checkpoint: the first write to every page faults once.
  passes.first_pass_after_checkpoint_ms = await pass();
  passes.later_pass_ms = await pass();
} finally {
  p.kill("SIGKILL");
  await p.exited;
}
if (!err.text.includes("incremental: pages written since the last one")) throw new Error(`no incremental image was written: ${err.text}`);

/**
 * From `ckpt restart IMAGE` to the program's "alive", which it prints once
 * every page checked out; and the CPU time the restored process had used by
 * then (the stub and its loaders, then the program's check: on this shared
 * machine a steadier figure than the wall time).
 */
async function restart(name: string): Promise<{ ms: number; cpuMs: number }> {
  const t = now();
  const r = Bun.spawn([CKPT, "restart", name], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const o = collect(r.stdout);
  await Promise.race([o.until("alive"), r.exited]);
  const ms = now() - t;
  if (!o.text.includes("alive")) throw new Error(`restart of ${name} failed: ${await new Response(r.stderr).text()}`);
  const cpuMs = cpuOf(exe);
  r.kill("SIGKILL");
  await r.exited;
  return { ms, cpuMs };
}
/** utime + stime (ms) of the one running process of `path`; its pid in here is not the one it has in its namespace. */
function cpuOf(path: string): number {
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(path)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
    } catch {}
  }
  return NaN;
}
/** Every image of the chain out of the page cache (cold: a restart after a reboot or on another node), or read into it (warm). */
async function cache(state: "cold" | "warm") {
  for (const f of readdirSync(work).filter((f) => f.startsWith("inc.dat")))
    if (state === "cold") await $`dd if=${join(work, f)} iflag=nocache count=0 status=none`; // posix_fadvise DONTNEED, no root needed
    else await $`cat ${join(work, f)} > /dev/null`;
}
const ROUNDS = Number(process.env.BENCH_INCREMENTAL_ROUNDS ?? 4); // even: each restart goes first as often
const full = `${image}.9`; // the chain's first, full image, nine commits back
type Timing = { ms: number; cpuMs: number };
const runs: Record<"cold" | "warm", { chain: Timing[]; full: Timing[] }> = { cold: { chain: [], full: [] }, warm: { chain: [], full: [] } };
for (let i = 0; i < ROUNDS; i++)
  for (const state of ["cold", "warm"] as const)
    for (const [which, name] of inTurn(i, [["chain", image], ["full", full]] as const)) {
      await cache(state);
      runs[state][which].push(await restart(name));
    }
const median = (xs: Timing[], k: keyof Timing) => spread(xs.map((x) => x[k]))!.median;
const summary = (state: "cold" | "warm") => ({
  chain_of_10_ms: median(runs[state].chain, "ms"), full_ms: median(runs[state].full, "ms"),
  chain_of_10_cpu_ms: median(runs[state].chain, "cpuMs"), full_cpu_ms: median(runs[state].full, "cpuMs"),
  runs: runs[state],
});
const restarts = { cold: summary("cold"), warm: summary("warm") };

console.log(`\n${COMPRESS ? "compressed (--compress) " : ""}incremental images: ${MIB} MiB heap, ${DIRTY} MiB of scattered pages dirtied between checkpoints`);
console.log("image\tkind\tsize MiB\tpause reported ms\tpause observed ms\tnoise ms\tdurable ms");
images.forEach((r, i) => console.log([i + 1, r.kind, r.size_mib.toFixed(1), r.pause_reported_ms, r.pause_observed_ms.toFixed(2), r.noise_ms.toFixed(2), r.durable_ms].join("\t")));
const overhead = passes.first_pass_after_checkpoint_ms! / passes.without_tracking_ms! - 1;
console.log(`write pass over the heap: ${passes.without_tracking_ms!.toFixed(1)} ms untracked, ${passes.first_pass_after_checkpoint_ms!.toFixed(1)} ms as the first after a checkpoint (+${(overhead * 100).toFixed(1)} %, every page faulting once), ${passes.later_pass_ms!.toFixed(1)} ms after that`);
for (const state of ["cold", "warm"] as const) {
  const r = restarts[state];
  console.log(`restart, images ${state === "cold" ? "out of" : "in"} the page cache: ${r.chain_of_10_ms.toFixed(0)} ms from the 10th image of a chain, ${r.full_ms.toFixed(0)} ms from the full image (x${(r.chain_of_10_ms / r.full_ms).toFixed(2)}); CPU ${r.chain_of_10_cpu_ms.toFixed(0)} against ${r.full_cpu_ms.toFixed(0)} ms (x${(r.chain_of_10_cpu_ms / r.full_cpu_ms).toFixed(2)}); medians of ${ROUNDS}, each first in half of them`);
}
const machine = { cpus: navigator.hardwareConcurrency, kernel: (await $`uname -r`.text()).trim(), load: readFileSync("/proc/loadavg", "utf8").trim(), date: new Date().toISOString() };
const results = COMPRESS ? "incremental-compress-results.json" : "incremental-results.json";
writeFileSync(join(import.meta.dir, results), JSON.stringify({ machine, mib: MIB, dirty_mib: DIRTY, compress: COMPRESS, images, passes, restarts }, null, 2) + "\n");
rmSync(work, { recursive: true, force: true });
