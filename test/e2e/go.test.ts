// Programs in Go, as `go build` makes them when they link C (cgo): the
// only Go programs libckpt can load into (a pure Go binary is static).
// Go's runtime installs a handler for every signal, through the libc when
// it links C and by raw system call where the libc answers EINVAL, and
// runs goroutines on small stacks with no guard page.
import { beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, need, ROOT, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const ROUNDS = 60;
let program: string;

beforeAll(() => {
  const go = need("go", "golang-go");
  const src = mkdtempSync(join(tmpdir(), "ckpt-go-"));
  copyFileSync(join(ROOT, "test", "fixtures", "go-rounds.go"), join(src, "main.go"));
  writeFileSync(join(src, "go.mod"), "module rounds\ngo 1.19\n");
  program = join(src, "rounds");
  const env = { ...process.env, GOCACHE: join(src, "cache"), GOPATH: join(src, "gopath"), GOFLAGS: "-mod=mod", CGO_ENABLED: "1" };
  const built = Bun.spawnSync([go, "build", "-o", program, "."], { cwd: src, env });
  if (built.exitCode !== 0) throw new Error(`go build failed: ${built.stderr.toString()}`);
});

const rounds = (out: string) => out.split("\n").filter((l) => l.startsWith("round "));
const got = (out: string, sig: number) => out.split("\n").filter((l) => l === `got ${sig}`).length;

async function bothSignalsReach(run: ReturnType<typeof spawn>, before: number) {
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor((o) => got(o, 12) > before);
  process.kill(run.pid, 64);
  await run.waitFor((o) => got(o, 64) > before);
}

test("a Go program: its own SIGUSR2 and signal 64 reach it, `ckpt checkpoint` stops it mid-run, and the restart prints what an uninterrupted run prints, both signals still its own", async () => {
  const reference = await runToEnd([program, String(ROUNDS)], { cwd: dir });
  expect(reference.code).toBe(0);
  expect(rounds(reference.stdout)).toHaveLength(ROUNDS);

  const run = ckpt([program, String(ROUNDS)], { cwd: dir });
  await run.waitFor((o) => rounds(o).length >= 5);
  await bothSignalsReach(run, 0);
  const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
  expect(request.stderr).not.toContain("failed");
  expect(request.code).toBe(0);
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const before = rounds(run.stdout);
  expect(before.length).toBeLessThan(ROUNDS);

  const rest = spawn([CKPT, "restart"], { cwd: dir });
  await rest.waitFor((o) => rounds(o).length >= 2);
  await bothSignalsReach(rest, 0);
  expect(await rest.exit()).toBe(0);
  expect([...before, ...rounds(rest.stdout)]).toEqual(rounds(reference.stdout));
}, 90000);

test("a Go program checkpointed twice with --continue while its goroutines run: each image restarts to the same checksums", async () => {
  const reference = await runToEnd([program, String(ROUNDS)], { cwd: dir });
  const run = ckpt(["--continue", program, String(ROUNDS)], { cwd: dir });
  await run.waitFor((o) => rounds(o).length >= 5);
  for (const image of ["first.dat", "second.dat"]) {
    const request = await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
    expect(request.code).toBe(0);
    renameSync(join(dir, "myckpt.dat"), join(dir, image));
  }
  expect(await run.exit()).toBe(0);
  expect(rounds(run.stdout)).toEqual(rounds(reference.stdout));
  for (const image of ["first.dat", "second.dat"]) {
    const rest = await runToEnd([CKPT, "restart", image], { cwd: dir });
    expect(rest.code).toBe(0);
    const after = rounds(rest.stdout);
    expect(after.length).toBeGreaterThan(0);
    expect(after).toEqual(rounds(reference.stdout).slice(ROUNDS - after.length));
  }
}, 90000);
