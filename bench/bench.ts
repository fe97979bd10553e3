// `bun run bench`: checkpoint and restart speed and image size, measured
// side by side in one run against what the machine's page cache allows:
// `dd` writing the same number of bytes with fsync, `cat` reading the
// image, and a reference reader that reads it into fresh anonymous memory.
// Prints a table and writes bench/results.json. Not a test: no thresholds.
import { $ } from "bun";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const CKPT = join(root, "dist", "ckpt");
const sizes = (process.env.BENCH_SIZES ?? "64,512,1024").split(",").map(Number);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? root, ".bench-"));
const bin = (name: string) => join(work, name);

await $`cc -O2 -o ${bin("workload")} ${join(import.meta.dir, "heap-workload.c")}`;
await $`cc -O2 -o ${bin("reader")} ${join(import.meta.dir, "reference-reader.c")}`;

const now = () => performance.now();

async function readLine(stream: ReadableStream<Uint8Array>, want: string) {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes(want)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${want}": ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}

async function timed(cmd: string[]): Promise<number> {
  const t = now();
  const p = Bun.spawn(cmd, { cwd: work, stdout: "ignore", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(" ")} failed`);
  return (now() - t) / 1000;
}

/** Launch under ckpt, wait for "ready", checkpoint: seconds until the image is durable (process gone). */
async function checkpoint(mib: number, extra: string[] = []) {
  const p = Bun.spawn([CKPT, ...extra, bin("workload"), String(mib)], { cwd: work, stdout: "pipe", stderr: "pipe" });
  await readLine(p.stdout, "ready");
  const t = now();
  process.kill(p.pid, "SIGUSR2");
  if (extra.includes("--continue")) {
    await readLine(p.stderr, "checkpoint written");
    const s = (now() - t) / 1000;
    p.kill("SIGKILL");
    await p.exited;
    return s;
  }
  const code = await p.exited;
  if (code !== 85) throw new Error(`workload exited ${code}`);
  return (now() - t) / 1000;
}

async function restart() {
  const t = now();
  const p = Bun.spawn([CKPT, "restart"], { cwd: work, stdout: "pipe", stderr: "inherit" });
  await readLine(p.stdout, "alive");
  const s = (now() - t) / 1000;
  p.kill("SIGKILL");
  await p.exited;
  return s;
}

const rows: Record<string, number | string>[] = [];
for (const mib of sizes) {
  rmSync(join(work, "myckpt.dat"), { force: true });
  const dd = await timed(["dd", "if=/dev/zero", `of=${bin("dd.out")}`, "bs=1M", `count=${mib}`, "conv=fsync", "status=none"]);
  rmSync(bin("dd.out"), { force: true });
  const ckpt = await checkpoint(mib);
  const image = statSync(join(work, "myckpt.dat")).size;
  const cat = await timed(["cat", join(work, "myckpt.dat")]);
  const reference = await timed([bin("reader"), join(work, "myckpt.dat")]);
  const rst = await restart();
  const pause = await checkpoint(mib, ["--continue", "--image", bin("cont.dat")]);
  rmSync(bin("cont.dat"), { force: true });
  rows.push({
    mib, checkpoint_s: ckpt, dd_s: dd, checkpoint_vs_dd: ckpt / dd,
    continue_pause_s: pause,
    restart_s: rst, reference_read_s: reference, cat_s: cat, restart_vs_reference: rst / reference,
    image_mib: image / 2 ** 20, image_vs_memory: image / 2 ** 20 / mib,
  });
}

const f = (v: number | string, d = 3) => (typeof v === "number" ? v.toFixed(d) : v);
const cols = Object.keys(rows[0]!);
console.log(cols.join("\t"));
for (const r of rows) console.log(cols.map((c) => f(r[c]!)).join("\t"));
const machine = { cpus: navigator.hardwareConcurrency, kernel: (await $`uname -r`.text()).trim(), date: new Date().toISOString() };
writeFileSync(join(import.meta.dir, "results.json"), JSON.stringify({ machine, rows }, null, 2) + "\n");
rmSync(work, { recursive: true, force: true });
