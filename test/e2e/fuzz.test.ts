// A fixed-seed, fast subset of the fuzz run (scripts/fuzz.ts runs longer):
// thousands of mutations of real single- and multi-threaded images. The
// reader must refuse each invalid one with an ImageError (never another
// exception); the restore stub, run directly on a sample, must refuse with
// one line and exit 1 before the program prints anything, within a deadline.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ImageError, readImage, verifyData } from "../../src/image/read.ts";
import { mutate, rng, same } from "../fuzz/mutate.ts";
import { ckpt, demo, EXIT_CHECKPOINTED, lines, ROOT, runToEnd, tempDir } from "./harness.ts";

const STUB = join(ROOT, "build", "ckpt-restore");
let dir: string;
let cleanup: () => void;
const images: Record<string, Uint8Array> = {};

async function realImage(name: string, program: string[], after: number) {
  const run = ckpt(["--image", join(dir, `${name}.dat`), ...program], { cwd: dir });
  await run.waitFor((o) => lines(o) >= after);
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  images[name] = new Uint8Array(readFileSync(join(dir, `${name}.dat`)));
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("ckpt-fuzz-"));
  await realImage("single", [demo("ticker"), "100000"], 3);
  await realImage("threads", [demo("threads-count"), "4", "1000"], 2);
}, 60000);
afterAll(() => cleanup());

/** readImage plus verifyData on a mutated image: "refused", "accepted", or a crash. */
function read(path: string): "refused" | "accepted" {
  try {
    verifyData(readImage(path));
    return "accepted";
  } catch (e) {
    if (e instanceof ImageError && !e.message.includes("\n")) return "refused";
    throw e;
  }
}

for (const name of ["single", "threads"])
  for (const resealed of [false, true])
    test(`reader: 1500 mutations of a ${name}-threaded image${resealed ? ", checksums recomputed" : ""}`, () => {
      const r = rng(resealed ? 7 : 42);
      const original = images[name]!;
      const path = join(dir, "m.dat");
      let refused = 0;
      for (let i = 0; i < 1500; i++) {
        const m = mutate(original, r, resealed);
        writeFileSync(path, m.image, { mode: 0o600 });
        const outcome = read(path);
        // Only an unchanged image, or (resealed) a header edit that happens
        // to stay consistent, may pass; never a changed byte under a checksum.
        if (outcome === "accepted" && !same(m.image, original) && !resealed)
          throw new Error(`accepted a corrupt image: ${m.what}`);
        if (outcome === "refused") refused++;
      }
      expect(refused).toBeGreaterThan(resealed ? 1000 : 1400);
    }, 120000);

test("restore stub: 80 corrupt images refused with one line and exit 1, the program never runs", async () => {
  const r = rng(99);
  const path = join(dir, "s.dat");
  let ran = 0;
  for (let i = 0; i < 80; i++) {
    const original = images[i % 2 ? "threads" : "single"]!;
    let m = mutate(original, r, false);
    while (same(m.image, original)) m = mutate(original, r, false);
    writeFileSync(path, m.image, { mode: 0o600 });
    const result = await runToEnd([STUB, path, path], { cwd: dir }, 20000);
    if (result.stdout !== "" || result.code !== 1 || result.stderr.split("\n").length !== 2 || !result.stderr.startsWith(`ckpt: cannot restart ${path}: `)) {
      ran++;
      throw new Error(`${m.what}: exit ${result.code}, stdout ${JSON.stringify(result.stdout.slice(0, 80))}, stderr ${JSON.stringify(result.stderr)}`);
    }
  }
  expect(ran).toBe(0);
}, 300000);
