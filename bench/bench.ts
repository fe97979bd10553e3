// `bun run bench`: checkpoint and restart speed and image size, measured
// side by side in one run against what this machine's page cache allows:
// `dd` writing the same number of bytes with fsync, `cat` reading the
// image, and a reference reader (reference-reader.c) that reads it into
// fresh anonymous memory with large reads and checksums it. CRIU and DMTCP,
// where installed, run the same workloads in the same run (peers.ts).
// Prints a table and writes bench/results.json. Not a test: there are no
// thresholds here.
import { $ } from "bun";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installedPeers, type Peer, type PeerRound } from "./peers.ts";
import { now, seconds, timed } from "./timing.ts";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const sizes = (process.env.BENCH_SIZES ?? "64,512,1024").split(",").map(Number);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-"));
const bin = (name: string) => join(work, name);
const image = join(work, "myckpt.dat");

await $`cc -O2 -o ${bin("workload")} ${join(import.meta.dir, "heap-workload.c")}`;
await $`cc -O2 -o ${bin("reader")} ${join(import.meta.dir, "reference-reader.c")}`;


/** Collects a stream as text; resolves `until(text)` waits as it grows. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const waiters: { want: string; resolve: () => void }[] = [];
  (async () => {
    for await (const chunk of stream) {
      text += new TextDecoder().decode(chunk);
      for (const w of waiters.splice(0)) if (text.includes(w.want)) w.resolve(); else waiters.push(w);
    }
  })();
  return {
    get text() { return text; },
    until: (want: string) => new Promise<void>((resolve) => (text.includes(want) ? resolve() : waiters.push({ want, resolve }))),
  };
}

const msIn = (text: string, re: RegExp) => Number(text.match(re)?.[1] ?? NaN) / 1000;

/** Stop mode: ckpt's own signal-to-durable time, and signal-to-exit as seen from here. */
async function checkpoint(args: string[]) {
  const p = Bun.spawn([CKPT, bin("workload"), ...args], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("ready");
  // Let it enter its sleep: a checkpoint taken just before the call would
  // (rightly) sleep the whole 30 s after the restart.
  await Bun.sleep(100);
  const t = now();
  process.kill(p.pid, "SIGUSR2");
  if ((await p.exited) !== 85) throw new Error(`workload did not stop with 85: ${err.text}`);
  const exit = seconds(now() - t);
  await err.until("checkpoint written");
  return { durable: msIn(err.text, / in ([\d.]+) ms\)/), exit };
}

/** --continue: how long the program was paused, and when the image was durable. */
async function continued(args: string[]) {
  const p = Bun.spawn([CKPT, "--continue", "--image", bin("cont.dat"), bin("workload"), ...args], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("ready");
  process.kill(p.pid, "SIGUSR2");
  await err.until("checkpoint written");
  p.kill("SIGKILL");
  await p.exited;
  rmSync(bin("cont.dat"), { force: true });
  return { pause: msIn(err.text, /paused ([\d.]+) ms/), durable: msIn(err.text, /durable after ([\d.]+) ms/) };
}

/** From `ckpt restart` to the program's first output. */
async function restart() {
  const t = now();
  const p = Bun.spawn([CKPT, "restart"], { cwd: work, stdout: "pipe", stderr: "inherit" });
  await collect(p.stdout).until("alive");
  const s = seconds(now() - t);
  p.kill("SIGKILL");
  await p.exited;
  return s;
}

const peers = installedPeers();
/** Why a peer stopped being measured: its first failure ends its part of the run. */
const peerFailures: Record<string, string> = {};

/** Each still-working peer's round on the same workload, or nothing for it. */
async function peerRounds(args: string[]): Promise<Record<string, PeerRound>> {
  const out: Record<string, PeerRound> = {};
  for (const peer of peers.filter((p: Peer) => !(p.name in peerFailures))) {
    try {
      out[peer.name] = await peer.round([bin("workload"), ...args], work);
    } catch (e) {
      peerFailures[peer.name] = (e as Error).message;
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

/** One measurement round; row() takes the median of REPEAT rounds, since disks here are noisy. */
async function round(args: string[], mib: number) {
  rmSync(image, { force: true });
  const dd = await timed(["dd", "if=/dev/zero", `of=${bin("dd.out")}`, "bs=1M", `count=${mib}`, "conv=fsync", "status=none"], { cwd: work });
  rmSync(bin("dd.out"), { force: true });
  const ck = await checkpoint(args);
  const size = statSync(image).size;
  const cat = await timed(["cat", image], { cwd: work });
  const reference = await timed([bin("reader"), image], { cwd: work });
  const rst = await restart();
  const cont = await continued(args);
  const peer = await peerRounds(args);
  return { dd, durable: ck.durable, exit: ck.exit, size, cat, reference, rst, pause: cont.pause, contDurable: cont.durable, peer };
}

async function row(label: string, args: string[], mib: number) {
  const rounds: Awaited<ReturnType<typeof round>>[] = [];
  for (let i = 0; i < REPEAT; i++) rounds.push(await round(args, mib));
  const m = (k: Exclude<keyof (typeof rounds)[0], "peer">) => median(rounds.map((r) => r[k]));
  const peerColumns: Record<string, number> = {};
  for (const peer of peers) {
    const done = rounds.map((r) => r.peer[peer.name]).filter((r): r is PeerRound => r !== undefined);
    if (done.length === 0) continue;
    for (const k of Object.keys(done[0]!) as (keyof PeerRound)[]) peerColumns[`${peer.name}_${k}`] = median(done.map((r) => r[k]));
  }
  return {
    workload: label, checkpoint_s: m("durable"), checkpoint_to_exit_s: m("exit"), dd_s: m("dd"),
    checkpoint_vs_dd: m("durable") / m("dd"),
    continue_pause_s: m("pause"), continue_durable_s: m("contDurable"),
    restart_s: m("rst"), reference_read_s: m("reference"), cat_s: m("cat"), restart_vs_reference: m("rst") / m("reference"),
    image_mib: m("size") / 2 ** 20, image_vs_touched: m("size") / 2 ** 20 / Number(args[1] ?? args[0]),
    ...peerColumns,
  };
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
  const [d, u, h] = [median(direct), median(under), median(hello)];
  return { direct_s: d, under_ckpt_s: u, added_s: u - d, bun_hello_s: h };
}

const rows = [];
rows.push(await row("1 MiB heap", ["1"], 1));
for (const mib of sizes) rows.push(await row(`${mib} MiB dirty`, [String(mib)], mib));
rows.push(await row("1 GiB mapped, 8 MiB touched", ["1024", "8"], 8));
const startup = await startupOverhead();

const f = (v: number | string) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))] as (keyof (typeof rows)[0])[];
console.log(cols.join("\t"));
for (const r of rows) console.log(cols.map((c) => f(r[c] ?? "-")).join("\t"));
for (const peer of peers) console.log(`${peer.name}: restart is ${peer.restartMeans}`);
for (const [name, why] of Object.entries(peerFailures)) console.log(`${name}: not measured from here on: ${why}`);
if (peers.length === 0) console.log("peers: neither criu (as root) nor dmtcp_launch is on the PATH");
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
console.log(`\nckpt /bin/true: ${ms(startup.under_ckpt_s)}, /bin/true: ${ms(startup.direct_s)}, added ${ms(startup.added_s)}` +
  ` (a compiled Bun hello world: ${ms(startup.bun_hello_s)}; medians of 31 interleaved runs)`);
const machine = { cpus: navigator.hardwareConcurrency, kernel: (await $`uname -r`.text()).trim(), date: new Date().toISOString() };
writeFileSync(join(import.meta.dir, "results.json"), JSON.stringify({ machine, rows, startup, peerFailures }, null, 2) + "\n");
rmSync(work, { recursive: true, force: true });
