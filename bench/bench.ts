// `bun run bench`: checkpoint and restart speed, the pause the program
// feels, ckpt's own memory and image size, measured side by side in one
// run against what this machine's disk allows: `dd` writing the same bytes
// past the page cache (O_DIRECT, the device's limit) and through it, `cat`
// reading the image, and a reference reader (reference-reader.c) that reads
// it into fresh anonymous memory with large reads and checksums it. CRIU
// and DMTCP, where installed, run the same workloads in the same run
// (peers.ts). A process tree (8 processes × 64 MiB) runs against one
// process of the same bytes (tree.ts). Every figure is the median of
// BENCH_REPEAT rounds with its range. Prints a table and writes
// bench/results.json. Not a test: there are no thresholds here.
import { $ } from "bun";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installedPeers, type PeerRound } from "./peers.ts";
import { compressionRows } from "./compression.ts";
import { TREE_KEYS, TREE_PROCS, treeRows } from "./tree.ts";
import { bigHeaps, noRoomFor, perUnitTable, regionCounts, SCALE_BASE_MIB, type ScaleRow, threadCounts } from "./scale.ts";
import { gapWindow, showSpread, spread, statusBytes } from "./stats.ts";
import { collect, gapWindowAround } from "./collect.ts";
import { now, seconds, timed } from "./timing.ts";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const sizes = (process.env.BENCH_SIZES ?? "64,512,1024").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-"));
const bin = (name: string) => join(work, name);
const image = join(work, "myckpt.dat");

await $`cc -O2 -pthread -o ${bin("workload")} ${join(import.meta.dir, "heap-workload.c")}`;
await $`cc -O2 -o ${bin("reader")} ${join(import.meta.dir, "reference-reader.c")}`;

const msIn = (text: string, re: RegExp) => Number(text.match(re)?.[1] ?? NaN) / 1000;
const procStatus = (pid: number) => readFileSync(`/proc/${pid}/status`, "utf8");

/** The most a `ckpt PROGRAM` process holds before its exec (the Bun runtime): below it, its peak RSS says nothing of the program's. */
async function launcherPeak(): Promise<number> {
  const p = Bun.spawn([CKPT, "/bin/true"], { stdout: "ignore" });
  await p.exited;
  return p.resourceUsage()?.maxRSS ?? NaN;
}
const launcherRss = await launcherPeak();

/**
 * Stop mode: ckpt's own signal-to-durable time; signal-to-exit as seen from
 * here (what a batch system waits for); and the memory ckpt added to the
 * process while writing: its peak RSS at exit less its peak before the signal.
 */
async function checkpoint(args: string[]) {
  const p = Bun.spawn([CKPT, bin("workload"), ...args], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("ready");
  // Let it enter its sleep: a checkpoint taken just before the call would
  // (rightly) sleep the whole 30 s after the restart.
  await Bun.sleep(100);
  const before = statusBytes(procStatus(p.pid), "VmHWM");
  const t = now();
  process.kill(p.pid, "SIGUSR2");
  if ((await p.exited) !== 85) throw new Error(`workload did not stop with 85: ${err.text}`);
  const exit = seconds(now() - t);
  await err.until("checkpoint written");
  const peak = p.resourceUsage()?.maxRSS ?? NaN;
  return { durable: msIn(err.text, / in ([\d.]+) ms\)/), exit, memory: before > launcherRss ? peak - before : NaN };
}

/**
 * --continue: the pause ckpt reports and the one the program saw (the
 * longest gap of its clock-reading loop across the checkpoint), next to
 * the longest gap of an equally long window without a checkpoint (this
 * machine's own noise); when the image was durable; and what the
 * checkpoint added to the program's peak RSS (the writer's own is not in it).
 */
async function continued(args: string[]) {
  const p = Bun.spawn([CKPT, "--continue", "--image", bin("cont.dat"), bin("workload"), ...args], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  try {
    await out.until("ready");
    const before = statusBytes(procStatus(p.pid), "VmHWM");
    const window = async (n: number, during: () => Promise<unknown>) => {
      await gapWindowAround(p, out, n, during);
      return seconds(gapWindow(out.text, n)!.longestNs / 1e6);
    };
    let took = 0;
    const observed = await window(1, async () => {
      const t = now();
      process.kill(p.pid, "SIGUSR2");
      await err.until("checkpoint written");
      took = now() - t;
    });
    const memory = statusBytes(procStatus(p.pid), "VmHWM") - before;
    const noise = await window(2, () => Bun.sleep(took));
    return { pause: msIn(err.text, /paused ([\d.]+) ms/), observed, noise, durable: msIn(err.text, /durable after ([\d.]+) ms/), memory };
  } finally {
    p.kill("SIGKILL");
    await p.exited;
    rmSync(bin("cont.dat"), { force: true });
  }
}

/** From `ckpt restart` to the program's first output, which it prints only once its heap passed its check. */
async function restart() {
  const t = now();
  const p = Bun.spawn([CKPT, "restart"], { cwd: work, stdout: "pipe", stderr: "inherit" });
  await collect(p.stdout).until("alive");
  const s = seconds(now() - t);
  p.kill("SIGKILL");
  await p.exited;
  return s;
}

const { peers, absent } = installedPeers();
/** Why a peer is not (or no longer) measured: its first failure ends its part of the run. */
const peerNotes: Record<string, string> = { ...absent };

/** Each still-working peer's verified round on the same workload, or nothing for it. */
async function peerRounds(args: string[]): Promise<Record<string, PeerRound>> {
  const out: Record<string, PeerRound> = {};
  for (const peer of peers.filter((p) => !(p.name in peerNotes))) {
    try {
      out[peer.name] = await peer.round([bin("workload"), ...args], work);
    } catch (e) {
      peerNotes[peer.name] = (e as Error).message;
    }
  }
  return out;
}

const dd = (mib: number, flags: string[]) =>
  timed(["dd", "if=/dev/zero", `of=${bin("dd.out")}`, ...flags, `count=${mib}`, "conv=fsync", "status=none"], { cwd: work }).finally(() =>
    rmSync(bin("dd.out"), { force: true }));

/** One measurement round. */
async function round(args: string[], mib: number, withPeers: boolean) {
  rmSync(image, { force: true });
  // bs=4M count in 4 MiB blocks; sizes below 4 MiB round up to one block.
  const ddDirect = await dd(Math.max(1, Math.ceil(mib / 4)), ["bs=4M", "oflag=direct"]);
  const ddCache = await dd(mib, ["bs=1M"]);
  const ck = await checkpoint(args);
  const size = statSync(image).size;
  const cat = await timed(["cat", image], { cwd: work });
  const reference = await timed([bin("reader"), image], { cwd: work });
  const rst = await restart();
  const cont = await continued(args);
  const peer = withPeers ? await peerRounds(args) : {};
  return {
    dd_direct_s: ddDirect, dd_cache_s: ddCache, checkpoint_s: ck.durable, exit_s: ck.exit, exit_vs_dd_direct: ck.exit / ddDirect,
    // ckpt's own figure starts at its handler, this one at our kill(): the difference is delivery plus the exit.
    written_to_exit_s: ck.exit - ck.durable,
    memory_b: ck.memory, size_b: size, cat_s: cat, reference_s: reference, restart_s: rst, restart_vs_reference: rst / reference,
    pause_reported_s: cont.pause, pause_observed_s: cont.observed, pause_noise_s: cont.noise, continue_durable_s: cont.durable,
    continue_memory_b: cont.memory, peer,
  };
}

type Round = Awaited<ReturnType<typeof round>>;

async function row(label: string, args: string[], mib: number, withPeers = true) {
  const rounds: Round[] = [];
  for (let i = 0; i < REPEAT; i++) rounds.push(await round(args, mib, withPeers));
  const keys = Object.keys(rounds[0]!).filter((k) => k !== "peer") as Exclude<keyof Round, "peer">[];
  const figures = Object.fromEntries(keys.map((k) => [k, spread(rounds.map((r) => r[k] as number))]));
  const peerFigures: Record<string, Record<string, ReturnType<typeof spread>> | string> = {};
  for (const name of ["criu", "dmtcp"]) {
    const done = rounds.map((r) => r.peer[name]).filter((r): r is PeerRound => r !== undefined);
    peerFigures[name] = done.length
      ? Object.fromEntries((Object.keys(done[0]!) as (keyof PeerRound)[]).map((k) => [k, spread(done.map((r) => r[k]))]))
      : withPeers ? (peerNotes[name] ?? "not measured") : "not run at this scale";
  }
  return { workload: label, mib, figures, peers: peerFigures, rounds };
}

/**
 * What `ckpt PROGRAM` adds to PROGRAM's run, next to the floor of any
 * compiled Bun executable (a hello world built here): runs interleaved,
 * medians, so a burst of load on this shared machine hits all three alike.
 */
async function startupOverhead() {
  writeFileSync(bin("hello.ts"), 'console.log("hello");\n');
  await $`${process.execPath} build --compile --bytecode --minify ${bin("hello.ts")} --outfile ${bin("bun-hello")}`.quiet();
  const runs = 31;
  const direct: number[] = [], under: number[] = [], hello: number[] = [];
  for (let i = 0; i < runs; i++) {
    direct.push(await timed(["/bin/true"], { cwd: work }));
    under.push(await timed([CKPT, "/bin/true"], { cwd: work }));
    hello.push(await timed([bin("bun-hello")], { cwd: work }));
  }
  const [d, u, h] = [spread(direct)!.median, spread(under)!.median, spread(hello)!.median];
  return { direct_s: d, under_ckpt_s: u, added_s: u - d, bun_hello_s: h };
}

// BENCH_ONLY=compression runs the --compress comparison alone, BENCH_ONLY=tree the process tree's rows.
const only = process.env.BENCH_ONLY;
type Row = Awaited<ReturnType<typeof row>>;
const rows: Row[] = [];
// Scale (issue #17): large heaps where this machine has room now, then
// threads and regions on the base heap. Peers are not run on these rows.
const scaleRows: ScaleRow[] = [];
const scaleSkipped: string[] = [];
const oneGiB = () => rows.find((r) => r.workload === "1024 MiB dirty");
if (!only) {
  rows.push(await row("1 MiB heap", ["1"], 1));
  for (const mib of sizes) rows.push(await row(`${mib} MiB dirty`, [String(mib)], mib));
  rows.push(await row("1 GiB mapped, 8 MiB touched", ["1024", "8"], 8));
  await scaleRowsInto(rows);
}
const startup = only ? undefined : await startupOverhead();
const compression = only && only !== "compression" ? undefined : await compressionRows(CKPT, join(root, "build", "fixtures", "mixed-heap"), work,
  Number(process.env.BENCH_COMPRESS_MIB ?? 1024), REPEAT, collect);
// Issue #14: 8 processes × 64 MiB against one of 512 MiB (tree.ts).
const tree = only && only !== "tree" ? undefined : await treeRows(CKPT, work, REPEAT);

async function scaleRowsInto(rows: Row[]) {
  const asGiB = (r: Row) => scaleRows.push({ ...r, units: { count: r.mib / 1024, unit: "GiB" } });
  const gib = oneGiB();
  if (bigHeaps.length && gib) asGiB(gib);
  for (const mib of bigHeaps) {
    const why = await noRoomFor(mib, work);
    if (why) scaleSkipped.push(`${mib} MiB dirty: ${why}`);
    else rows.push(await row(`${mib} MiB dirty`, [String(mib)], mib, false)), asGiB(rows.at(-1)!);
  }
  const B = String(SCALE_BASE_MIB);
  const base = threadCounts.length + regionCounts.length === 0 ? undefined
    : (rows.find((r) => r.workload === `${B} MiB dirty`) ?? rows[rows.push(await row(`${B} MiB dirty`, [B], SCALE_BASE_MIB, false)) - 1]!);
  for (const n of threadCounts) {
    rows.push(await row(`${B} MiB + ${n} threads`, [B, B, String(n)], SCALE_BASE_MIB, false));
    scaleRows.push({ ...rows.at(-1)!, units: { count: n, unit: "thread", base: base!.figures } });
  }
  for (const n of regionCounts) {
    rows.push(await row(`${B} MiB + ${n} regions`, [B, B, "0", String(n)], SCALE_BASE_MIB, false));
    scaleRows.push({ ...rows.at(-1)!, units: { count: n, unit: "region", base: base!.figures } });
  }
}

// Milliseconds for times, MiB for sizes, plain ratios.
const show = (k: string, s: ReturnType<typeof spread>) =>
  k.endsWith("_s") ? showSpread(s, 1000) : k.endsWith("_b") ? showSpread(s, 1 / 2 ** 20) : showSpread(s, 1, 2);
const tables: [string, string[]][] = [
  ["checkpoint, stopping (ms; memory MiB)", ["checkpoint_s", "exit_s", "written_to_exit_s", "dd_direct_s", "exit_vs_dd_direct", "dd_cache_s", "memory_b", "size_b"]],
  ["--continue (ms; memory MiB)", ["pause_reported_s", "pause_observed_s", "pause_noise_s", "continue_durable_s", "continue_memory_b"]],
  ["restart (ms)", ["restart_s", "reference_s", "restart_vs_reference", "cat_s"]],
];
// BENCH_ONLY leaves these rows out: no empty tables then.
for (const [title, keys] of rows.length ? tables : []) {
  console.log(`\n${title}\nworkload\t${keys.join("\t")}`);
  for (const r of rows) console.log(`${r.workload}\t${keys.map((k) => show(k, r.figures[k])).join("\t")}`);
}
for (const name of rows.length ? ["criu", "dmtcp"] : []) {
  console.log(`\n${name} (ms; image MiB)${peers.find((p) => p.name === name) ? `: restart is ${peers.find((p) => p.name === name)!.restartMeans}` : ""}`);
  for (const r of rows) {
    const f = r.peers[name]!;
    console.log(`${r.workload}\t${typeof f === "string" ? f : Object.entries(f).map(([k, s]) => `${k} ${k.endsWith("_s") ? showSpread(s, 1000) : showSpread(s)}`).join("\t")}`);
  }
}
if (compression) {
  console.log(`\n--compress on a ${compression.mib} MiB heap of zeros, text and floats (ms; image MiB)\nmode\tcheckpoint_s\tsize_b\trestart_s`);
  for (const [mode, f] of [["plain", compression.plain], ["--compress", compression.compressed]] as const)
    console.log(`${mode}\t${(["checkpoint_s", "size_b", "restart_s"] as const).map((k) => show(k, f[k])).join("\t")}`);
  console.log(`compressed/heap: size ${compression.size_of_heap_ratio.toFixed(2)}`);
  console.log(`compressed/plain: size ${compression.size_ratio.toFixed(2)}, checkpoint time ${compression.checkpoint_ratio.toFixed(2)}, restart time ${compression.restart_ratio.toFixed(2)}`);
  for (const c of compression.codecs) console.log(c);
}
if (tree) {
  console.log(`\nprocess tree: the same bytes in ${TREE_PROCS} processes or in one (ms from the signal; image MiB with the members' files; ratios per round)\nworkload\t${TREE_KEYS.join("\t")}`);
  for (const r of [tree.single, tree.tree]) console.log(`${r.workload}\t${TREE_KEYS.map((k) => show(k, r.figures[k])).join("\t")}`);
  console.log(`tree / single\t${TREE_KEYS.map((k) => showSpread(tree.ratios[k], 1, 2)).join("\t")}`);
}
if (scaleRows.length || scaleSkipped.length) {
  console.log(`\nscale, per unit (ms; MiB; a thread's or region's figure is its row's difference to the ${SCALE_BASE_MIB} MiB row, divided by the count)`);
  for (const line of [...perUnitTable(scaleRows, oneGiB()?.figures), ...scaleSkipped]) console.log(line);
}
console.log(`\nmedians (min-max) of ${REPEAT} rounds; a stopping checkpoint's memory is "-" where the program's peak is below the launcher's (${(launcherRss / 2 ** 20).toFixed(0)} MiB)`);
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
if (startup) console.log(`ckpt /bin/true: ${ms(startup.under_ckpt_s)}, /bin/true: ${ms(startup.direct_s)}, added ${ms(startup.added_s)}` +
  ` (a compiled Bun hello world: ${ms(startup.bun_hello_s)}; medians of 31 interleaved runs)`);
const machine = { cpus: navigator.hardwareConcurrency, kernel: (await $`uname -r`.text()).trim(), load: readFileSync("/proc/loadavg", "utf8").trim(), date: new Date().toISOString() };
writeFileSync(join(import.meta.dir, only ? `results-${only}.json` : "results.json"), JSON.stringify({ machine, repeat: REPEAT, rows, startup, compression, tree, peerNotes }, null, 2) + "\n");
writeFileSync(join(import.meta.dir, "results.json"), JSON.stringify({ machine, repeat: REPEAT, rows, scaleSkipped, startup, tree, peerNotes }, null, 2) + "\n");
rmSync(work, { recursive: true, force: true });
