/**
 * What the tests of periodic checkpoints share (interval, incremental and
 * tree-periodic): when a commit happened, and which background writers
 * are still at work.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { until } from "./harness.ts";
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
