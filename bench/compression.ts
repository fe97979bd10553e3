// The compression part of `npm run bench`: test/fixtures/mixed-heap.c
// fills a heap with typical data (a third each of zeros, text and
// floating-point numbers, in 64 KiB pieces) and is checkpointed with and
// without --compress, side by side in the same run: checkpoint time (ckpt's
// own signal-to-durable figure), image size, and restart time (from `ckpt
// restart` to the program's first line, printed once its heap hashed as
// before). Where the lz4 and zstd command-line tools are installed, their
// own benchmark (one core, level 1) on the uncompressed image is the
// measurement the codec was chosen by (docs/performance.md).
import { $ } from "bun";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { spread } from "./stats.ts";
import { now, seconds } from "./timing.ts";

type Collected = { readonly text: string; until: (want: string) => Promise<void> };

export interface CompressionRound {
  checkpoint_s: number;
  size_b: number;
  restart_s: number;
}

async function oneRound(ckpt: string, program: string[], work: string, opts: string[],
  collect: (s: ReadableStream<Uint8Array>) => Collected): Promise<CompressionRound> {
  const image = join(work, "mixed.dat");
  rmSync(image, { force: true });
  const p = Bun.spawn([ckpt, ...opts, "--image", image, ...program], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("ready");
  await Bun.sleep(100); // into its pause()
  process.kill(p.pid, "SIGUSR2");
  if ((await p.exited) !== 85) throw new Error(`mixed-heap did not stop with 85: ${err.text}`);
  await err.until("checkpoint written");
  const checkpoint = Number(err.text.match(/ in ([\d.]+) ms\)/)?.[1] ?? NaN) / 1000;
  const size = statSync(image).size;
  const t = now();
  const r = Bun.spawn([ckpt, "restart", image], { cwd: work, stdout: "pipe", stderr: "inherit" });
  const back = collect(r.stdout);
  await back.until("alive");
  const restart = seconds(now() - t);
  r.kill("SIGKILL");
  await r.exited;
  if (!back.text.includes("heap ok")) throw new Error(`the heap came back changed: ${back.text}`);
  return { checkpoint_s: checkpoint, size_b: size, restart_s: restart };
}

/** What `tool -b1` (its own in-memory benchmark, one core) says of `file`: ratio and MB/s both ways. */
async function codecBench(tool: "lz4" | "zstd", file: string): Promise<string> {
  if ((await $`${tool} --version`.quiet().nothrow()).exitCode !== 0) return `${tool}: not installed`;
  const args = tool === "zstd" ? ["-b1", "-T1", file] : ["-b1", file];
  const said = await $`${tool} ${args}`.quiet().nothrow();
  const text = (said.stdout.toString() + said.stderr.toString()).split(/[\r\n]/).filter((l) => /MB\/s/.test(l)).at(-1) ?? "no result";
  return `${tool} level 1: ${text.trim()}`;
}

/** Plain and --compress rounds of a MIB-MiB mixed heap, interleaved. */
export async function compressionRows(ckpt: string, fixture: string, work: string, mib: number, repeat: number,
  collect: (s: ReadableStream<Uint8Array>) => Collected) {
  const program = [fixture, String(mib), "bench"];
  const plain: CompressionRound[] = [], packed: CompressionRound[] = [];
  for (let i = 0; i < repeat; i++) {
    plain.push(await oneRound(ckpt, program, work, [], collect));
    packed.push(await oneRound(ckpt, program, work, ["--compress"], collect));
  }
  // The codecs' own figures, on the uncompressed image of the same data.
  await oneRound(ckpt, program, work, [], collect);
  const codecs = [await codecBench("lz4", join(work, "mixed.dat")), await codecBench("zstd", join(work, "mixed.dat"))];
  rmSync(join(work, "mixed.dat"), { force: true });
  const figures = (rounds: CompressionRound[]) =>
    Object.fromEntries((["checkpoint_s", "size_b", "restart_s"] as const).map((k) => [k, spread(rounds.map((r) => r[k]))]));
  const median = (rounds: CompressionRound[], k: keyof CompressionRound) => spread(rounds.map((r) => r[k]))!.median;
  return {
    mib, plain: figures(plain), compressed: figures(packed), codecs,
    size_ratio: median(packed, "size_b") / median(plain, "size_b"),
    // Plain images leave pages of zeros out too (c/lib/zero_pages.c), so the
    // heap itself is the other yardstick.
    size_of_heap_ratio: median(packed, "size_b") / (mib * 2 ** 20),
    checkpoint_ratio: median(packed, "checkpoint_s") / median(plain, "checkpoint_s"),
    restart_ratio: median(packed, "restart_s") / median(plain, "restart_s"),
  };
}
