// The bench's process-tree row (issue #14): a tree of 8 processes × 64 MiB
// next to one process of 512 MiB, the same bytes split or not, measured
// from outside as the other rows are: signal to the exit of the whole tree
// (the launched process exits 85 only once every member has), and
// `ckpt restart` to every member running again with its heap checked
// (tree-workload.c). The two run interleaved, round by round, so a burst of
// load on this shared machine hits both alike; the ratios are per round.
import { $ } from "bun";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { collect } from "./collect.ts";
import { type Spread, spread } from "./stats.ts";
import { now, seconds } from "./timing.ts";

export const TREE_PROCS = 8;
export const TREE_MIB_EACH = 64;

/** Whether `out` holds an "alive K" line from each of the `procs` processes (K from 0). */
export function allAlive(out: string, procs: number): boolean {
  const seen = new Set(out.split("\n").flatMap((l) => l.match(/^alive (\d+)$/)?.[1] ?? []).map(Number));
  for (let k = 0; k < procs; k++) if (!seen.has(k)) return false;
  return true;
}

/** Round by round, `a[i] / b[i]`: the ratio of two measurements taken side by side. */
export function pairedRatios(a: number[], b: number[]): Spread | undefined {
  return spread(a.map((x, i) => x / (b[i] ?? NaN)));
}

/** An image's member files beside it (`NAME.<tree id>.<pid>`). */
function memberFiles(image: string): string[] {
  const dir = join(image, ".."), name = image.split("/").pop()!;
  return readdirSync(dir).filter((f) => f.startsWith(`${name}.`)).map((f) => join(dir, f));
}

/** The bytes of an image and its member files. */
export function imageBytes(image: string): number {
  return [image, ...memberFiles(image)].reduce((sum, f) => sum + statSync(f).size, 0);
}

/**
 * Where a tree's checkpoint time goes, from the files' last writes (the
 * wall clock, as at the signal): when the last member's file was written,
 * and when the root's image was, after it. NaN for a single process.
 */
function writtenAt(image: string, signalledMs: number) {
  const members = memberFiles(image).map((f) => statSync(f).mtimeMs);
  return {
    members_written_s: members.length ? seconds(Math.max(...members) - signalledMs) : NaN,
    root_written_s: seconds(statSync(image).mtimeMs - signalledMs),
  };
}

const msIn = (text: string, re: RegExp) => Number(text.match(re)?.[1] ?? NaN) / 1000;

/** Pids of processes still running `program`: none may outlive a round. */
function leftOver(program: string): number[] {
  const name = program.split("/").pop()!.slice(0, 15);
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/comm`, "utf8").trim() === name;
    } catch {
      return false;
    }
  }).map(Number);
}

async function oneRound(ckpt: string, program: string, work: string, procs: number, mib: number) {
  const image = join(work, "tree.dat");
  for (const f of readdirSync(work)) if (f.startsWith("tree.dat")) rmSync(join(work, f));
  const p = Bun.spawn([ckpt, "--image", image, program, String(procs), String(mib)], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const out = collect(p.stdout), err = collect(p.stderr);
  await out.until("ready");
  // Let every process enter its sleep (see bench.ts's checkpoint()).
  await Bun.sleep(100);
  const t = now(), signalledMs = Date.now();
  process.kill(p.pid, "SIGUSR2");
  if ((await p.exited) !== 85) throw new Error(`tree workload did not stop with 85: ${err.text}`);
  const exit = seconds(now() - t);
  await err.until("checkpoint written");
  const size = imageBytes(image), written = writtenAt(image, signalledMs);
  const t2 = now();
  const r = Bun.spawn([ckpt, "restart", image], { cwd: work, stdout: "pipe", stderr: "pipe" });
  const rout = collect(r.stdout), rerr = collect(r.stderr);
  let ended = false;
  r.exited.then(() => (ended = true));
  while (!ended && !allAlive(rout.text, procs)) await Bun.sleep(2);
  const started = allAlive(rout.text, procs);
  const restart = seconds(now() - t2);
  r.kill("SIGTERM");
  await r.exited;
  if (!started) throw new Error(`restart of the tree workload ended early: ${rerr.text}`);
  // The root's SIGTERM ends the restart; its children run on under ckpt-init until killed,
  // as they would under init without a restart (docs/process-trees.md).
  for (const pid of leftOver(program)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 100 && leftOver(program).length; i++) await Bun.sleep(50);
  if (leftOver(program).length) throw new Error(`tree workload processes left after the restart ended: ${leftOver(program).join(" ")}`);
  return { checkpoint_s: msIn(err.text, / in ([\d.]+) ms\)/), exit_s: exit, ...written, restart_s: restart, size_b: size };
}

type Figures = Awaited<ReturnType<typeof oneRound>>;
export const TREE_KEYS = ["checkpoint_s", "exit_s", "members_written_s", "root_written_s", "restart_s", "size_b"] as const;

/** The tree row and the single-process row of the same bytes, with the tree's ratios to it. */
export async function treeRows(ckpt: string, work: string, repeat: number) {
  const program = join(work, "tree-workload");
  await $`cc -O2 -o ${program} ${join(import.meta.dir, "tree-workload.c")}`;
  const tree: Figures[] = [], single: Figures[] = [];
  for (let i = 0; i < repeat; i++) {
    single.push(await oneRound(ckpt, program, work, 1, TREE_PROCS * TREE_MIB_EACH));
    tree.push(await oneRound(ckpt, program, work, TREE_PROCS, TREE_MIB_EACH));
  }
  const figures = (rounds: Figures[]) => Object.fromEntries(TREE_KEYS.map((k) => [k, spread(rounds.map((r) => r[k]))]));
  const ratios = Object.fromEntries(TREE_KEYS.map((k) => [k, pairedRatios(tree.map((r) => r[k]), single.map((r) => r[k]))]));
  return {
    single: { workload: `1 process × ${TREE_PROCS * TREE_MIB_EACH} MiB`, figures: figures(single), rounds: single },
    tree: { workload: `${TREE_PROCS} processes × ${TREE_MIB_EACH} MiB`, figures: figures(tree), rounds: tree },
    ratios,
  };
}
