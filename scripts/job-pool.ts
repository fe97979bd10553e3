// Runs build jobs a few at a time: one compiler per core. Started all at
// once, the fixtures alone are a few hundred compilers, which on a small
// shared machine pushes the load into the hundreds and slows every other
// build and test there more than it speeds this one.
import { availableParallelism } from "node:os";

export async function runPooled(jobs: (() => Promise<unknown>)[], limit = availableParallelism()): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
