// The JVM, a program nobody here wrote with twenty-odd threads (compiler,
// garbage collector, a worker pool), a moving heap and its own SIGUSR2
// handler (HotSpot's suspend/resume signal): so it is checkpointed with
// `ckpt checkpoint PID`, which the user is told to use when the trigger is
// taken, and must print after a restart exactly what an uninterrupted run
// prints.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

// Each round allocates (so the collector moves things), hands work to a
// pool of threads and prints what they computed from everything kept so far.
const SOURCE = `
import java.util.*;
import java.util.concurrent.*;
public class Rounds {
  public static void main(String[] args) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<long[]> kept = new ArrayList<>();
    for (int round = 0; round < 14; round++) {
      long[] block = new long[200_000];
      for (int i = 0; i < block.length; i++) block[i] = (long) i * round + kept.size();
      kept.add(block);
      List<Future<Long>> parts = new ArrayList<>();
      for (long[] b : kept) parts.add(pool.submit(() -> { long s = 0; for (long v : b) s += v % 1009; return s; }));
      long total = 0;
      for (Future<Long> f : parts) total += f.get();
      System.out.println("round " + round + " blocks " + kept.size() + " total " + total);
      Thread.sleep(150);
    }
    pool.shutdown();
    System.out.println("done");
  }
}
`;

// HotSpot's SIGUSR2 handler makes ckpt say once, and again at exit, that
// the trigger is taken; anything else on stderr is a failure.
function withoutTriggerNotes(stderr: string): string {
  return stderr.split("\n").filter((l) => !/signal 12, the checkpoint trigger/.test(l)).join("\n");
}

test("java: a thread pool and a growing heap continue after a restart", async () => {
  if (!Bun.which("java")) throw new Error("java is not installed (.ci/run installs openjdk-17-jdk-headless)");
  writeFileSync(join(dir, "Rounds.java"), SOURCE);
  const program = ["java", "-Xmx256m", "Rounds.java"];
  const reference = await runToEnd(program, { cwd: dir }, 120000);
  expect(reference.code).toBe(0);
  expect(reference.stdout).toContain("done");

  const run = ckpt(program, { cwd: dir });
  await run.waitFor((out) => lines(out) >= 4, 60000);
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(withoutTriggerNotes(request.stderr)).toBe("");
  expect(request.code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);

  const second = await runToEnd([CKPT, "restart"], { cwd: dir }, 120000);
  expect(withoutTriggerNotes(second.stderr)).toBe("");
  expect(second.code).toBe(0);
  expect(run.stdout + second.stdout).toBe(reference.stdout);
}, 180000);
