/**
 * What the tests of periodic checkpoints share (interval, incremental,
 * direct-read and tree-periodic): when a commit happened, which background
 * writers are still at work, and chains of incremental images.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, type Running, until } from "./harness.ts";
import { hasEnded } from "../../src/process/proc.ts";

/** The inode at `path`, or 0: each commit renames a new file over the image. */
export function inode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return 0;
  }
}

/** Waits until `count` checkpoints have been committed at `path` (new inodes seen there). */
export async function commits(path: string, count: number): Promise<void> {
  const seen = new Set<number>();
  await until(() => {
    const ino = inode(path);
    if (ino) seen.add(ino);
    return seen.size >= count;
  }, () => `${count} checkpoints at ${path}, saw ${seen.size}`, 30000);
}

/** Live `ckpt-writer` processes (background writers) forked from a program run from `exe`. */
export function writersOf(exe: string): number[] {
  return writersWhere((argv) => argv[0] === exe);
}

/** Live `ckpt-writer` processes whose program's arguments (the writer's cmdline) pass `match`. */
export function writersWhere(match: (argv: string[]) => boolean): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "latin1") !== "ckpt-writer\n") continue;
      if (!match(readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0")) || hasEnded(Number(entry))) continue;
    } catch {
      continue;
    }
    found.push(Number(entry));
  }
  return found;
}

export interface ChainFacts { imageId: string; tracking: string; chain: { imageId: string; size: number }[] }

/** `ckpt info --json`'s incremental facts of the image at `path` (in `dir`), or undefined while it is unreadable. */
export function chainFacts(dir: string, path: string): ChainFacts | undefined {
  const r = Bun.spawnSync([CKPT, "info", "--json", path], { cwd: dir });
  return r.exitCode === 0 ? JSON.parse(r.stdout.toString()).incremental : undefined;
}

/**
 * Runs `args` in `dir` with periodic checkpoints until an image reads from
 * at least `links` older ones, then SIGKILLs it; the newest image's facts,
 * and what the run wrote.
 */
export async function growChain(dir: string, running: Running[], args: string[], links: number, exe: string): Promise<ChainFacts & { stdout: string; stderr: string }> {
  const r = ckpt(["--interval", "200ms", "--keep", "1", ...args], { cwd: dir });
  running.push(r);
  let facts: ChainFacts | undefined;
  let seen = 0;
  await until(() => {
    const ino = inode(join(dir, "myckpt.dat"));
    if (ino && ino !== seen) {
      seen = ino;
      facts = chainFacts(dir, "myckpt.dat");
    }
    return (facts?.chain.length ?? 0) >= links;
  }, () => `an image reading from ${links} older ones, saw ${JSON.stringify(facts)}`, 30000);
  r.proc.kill("SIGKILL");
  await r.done;
  await until(() => writersOf(exe).length === 0, () => "the last writer to finish");
  return { ...chainFacts(dir, "myckpt.dat")!, stdout: r.stdout, stderr: r.stderr };
}

/** The file in `dir` whose image id is `id`. */
export function fileWithImageId(dir: string, id: string): string {
  for (const name of readdirSync(dir)) if (chainFacts(dir, name)?.imageId === id) return name;
  throw new Error(`no file holds image ${id}`);
}
