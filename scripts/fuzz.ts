// The long fuzz run: `bun scripts/fuzz.ts [READER_CASES] [STUB_CASES] [SEED] [AGREE_CASES]`.
// Makes real images (one single-, one multi-threaded), mutates them, and
// counts how the reader (readImage + verifyData) and the restore stub
// answer. Any accepted corrupt image, crash, hang or program output is a
// failure, printed with its mutation so it can be replayed from the seed;
// so is any image the reader and the stub's --check/--verify judge
// differently (test/e2e/verify-agreement.test.ts runs a short version).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageError, readImage, verifyData } from "../src/image/read.ts";
import { imageRefusal } from "../src/image/verdict.ts";
import { mutate, mutateTables, rng, same } from "../test/fuzz/mutate.ts";

const root = join(import.meta.dir, "..");
const [readerCases = 20000, stubCases = 2000, seed = 1, agreeCases = 2000] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), "ckpt-fuzz-"));

function image(name: string, program: string[], waitMs: number): Uint8Array {
  const path = join(dir, `${name}.dat`);
  const p = Bun.spawn([join(root, "dist/ckpt"), "--image", path, ...program], { stdout: "ignore", stderr: "ignore" });
  Bun.sleepSync(waitMs);
  process.kill(p.pid, "SIGUSR2");
  Bun.sleepSync(500);
  return new Uint8Array(readFileSync(path));
}

const originals = [
  image("single", [join(root, "build/demos/ticker"), "100000"], 300),
  image("threads", [join(root, "build/demos/threads-count"), "8", "1000"], 300),
];
const r = rng(seed);
const count: Record<string, number> = {};
const bump = (k: string) => (count[k] = (count[k] ?? 0) + 1);
let failures = 0;
const path = join(dir, "m.dat");

for (let i = 0; i < readerCases; i++) {
  const original = originals[i % 2]!;
  const m = mutate(original, r, i % 3 === 0);
  writeFileSync(path, m.image, { mode: 0o600 });
  try {
    verifyData(readImage(path));
    bump(same(m.image, original) ? "reader: unchanged, accepted" : "reader: accepted (resealed, still consistent)");
    if (!same(m.image, original) && !m.what.includes("resealed")) failures++, console.log(`ACCEPTED: ${m.what}`);
  } catch (e) {
    if (!(e instanceof ImageError)) failures++, console.log(`CRASH: ${m.what}: ${e}`);
    else bump("reader: refused");
  }
}

for (let i = 0; i < stubCases; i++) {
  const original = originals[i % 2]!;
  let m = mutate(original, r, false);
  while (same(m.image, original)) m = mutate(original, r, false);
  writeFileSync(path, m.image, { mode: 0o600 });
  const p = Bun.spawnSync([join(root, "build/ckpt-restore"), path, path], { timeout: 20000 });
  const err = p.stderr.toString();
  const prefix = `ckpt: cannot restart ${path}: `;
  if (p.exitCode === 1 && p.stdout.length === 0 && err.startsWith(prefix) && err.indexOf("\n") === err.length - 1)
    bump(`stub: ${err.slice(prefix.length).replace(/\/\S+/g, "PATH").replace(/(?<=[ (])\d+/g, "N").trim()}`);
  else failures++, console.log(`STUB: ${m.what}: exit ${p.exitCode} signal ${p.signalCode} stdout ${p.stdout.length} bytes, stderr ${JSON.stringify(err)}`);
}

for (let i = 0; i < agreeCases; i++) {
  const original = originals[i % 2]!;
  const m = i % 2 ? mutateTables(original, r) : mutate(original, r, i % 4 === 0);
  writeFileSync(path, m.image, { mode: 0o600 });
  for (const depth of ["tables", "data"] as const) {
    let reader: string | undefined;
    try {
      const image = readImage(path);
      if (depth === "data") verifyData(image);
    } catch (e) {
      reader = e instanceof ImageError ? e.message : `crash: ${e}`;
    }
    const stub = imageRefusal(join(root, "build/ckpt-restore"), path, depth);
    if ((reader === undefined) === (stub === undefined)) bump(`agree (${depth}): ${stub === undefined ? "accepted" : "refused"}`);
    else failures++, console.log(`DISAGREE ${m.what} [${depth}]: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
  }
}

rmSync(dir, { recursive: true, force: true });
for (const [k, n] of Object.entries(count).sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(7)}  ${k}`);
console.log(`${readerCases + stubCases + agreeCases - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
