// `ckpt run-or-restart`: the same command line starts the program when
// there is no image and resumes it when there is one, as a requeued batch
// job does; an image that is there but unusable is refused, never replaced.
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

/** A private copy of a demo: the shared ones may be rebuilt while tests run, and restart checks the file. */
function copyDemo(name: string): string {
  const p = join(dir, name);
  copyFileSync(demo(name), p);
  chmodSync(p, 0o755);
  return p;
}

/** `ckpt run-or-restart ARGS...`, checkpointed once its output has `after` lines (never, if undefined). */
async function start(args: string[], after?: number, env?: Record<string, string>) {
  const r = ckpt(["run-or-restart", ...args], { cwd: dir, env });
  if (after !== undefined) {
    await r.waitFor((out) => lines(out) >= after);
    process.kill(r.pid, "SIGUSR2");
  }
  const code = await r.exit();
  return { code, stdout: r.stdout, stderr: r.stderr };
}

test("one command line: a fresh start, then resumes after each checkpoint, output exactly once", async () => {
  const ticker = copyDemo("ticker");
  const reference = runToEnd([ticker, "150"], { cwd: dir });
  const args = ["--image", "job.dat", ticker, "150"];
  let out = "";
  // Each run prints from where the last one stopped; checkpoint it a few dozen lines on.
  for (const after of [20, 30, 30]) {
    const r = await start(args, after);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT_CHECKPOINTED, stderr: expect.stringContaining("checkpoint written to") });
    out += r.stdout;
  }
  const last = await start(args);
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  expect(out + last.stdout).toBe((await reference).stdout);
}, 60000);

test("the image comes from $CKPT_IMAGE when --image is not given", async () => {
  const ticker = copyDemo("ticker");
  const reference = runToEnd([ticker, "60"], { cwd: dir });
  const env = { CKPT_IMAGE: join(dir, "env.dat") };
  const first = await start([ticker, "60"], 10, env);
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  expect(first.stderr).toContain(`checkpoint written to ${join(dir, "env.dat")}`);
  const second = await start([ticker, "60"], undefined, env);
  expect(second.code).toBe(0);
  expect(first.stdout + second.stdout).toBe((await reference).stdout);
}, 60000);

test("a corrupt image is refused with exit 1 and one line; the program does not start and the image stays", async () => {
  const counting = copyDemo("counting-test");
  expect((await start(["--image", "c.dat", counting, "1"], 2)).code).toBe(EXIT_CHECKPOINTED);
  const path = join(dir, "c.dat");
  const bytes = readFileSync(path);
  bytes[4096 + 8]! ^= 0xff; // inside the tables, under tables_crc
  writeFileSync(path, bytes);
  const r = await start(["--image", "c.dat", counting, "1"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
  expect(r.stderr).toMatch(/^ckpt: cannot restart \S*c\.dat: [^\n]*checksum mismatch[^\n]*not starting \S*counting-test afresh over an existing image: remove \S*c\.dat to start over\)\n$/);
  expect(readFileSync(path).equals(bytes)).toBe(true);
}, 60000);

test("a file that is not an image, or a dangling symlink, is refused too, never replaced", async () => {
  const counting = copyDemo("counting-test");
  writeFileSync(join(dir, "notes.dat"), "my notes\n");
  const r = await start(["--image", "notes.dat", counting, "1"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
  expect(r.stderr).toContain("not starting");
  expect(readFileSync(join(dir, "notes.dat"), "utf8")).toBe("my notes\n");

  symlinkSync(join(dir, "gone.dat"), join(dir, "link.dat"));
  const s = await start(["--image", "link.dat", counting, "1"]);
  expect({ code: s.code, stdout: s.stdout }).toEqual({ code: 1, stdout: "" });
  expect(s.stderr).toContain("not starting");
}, 60000);

test("PROGRAM is required, even when the image exists; a bad --signal fails on every start", async () => {
  const counting = copyDemo("counting-test");
  const none = await runToEnd([CKPT, "run-or-restart", "--image", "x.dat"], { cwd: dir });
  expect(none.code).toBe(2);
  expect(none.stderr).toBe("ckpt: missing PROGRAM to run (see 'ckpt run-or-restart --help')\n");
  expect((await start(["--image", "x.dat", counting, "1"], 2)).code).toBe(EXIT_CHECKPOINTED);
  expect((await runToEnd([CKPT, "run-or-restart", "--image", "x.dat"], { cwd: dir })).code).toBe(2);
  const bad = await runToEnd([CKPT, "run-or-restart", "--signal", "NOPE", "--image", "x.dat", counting, "1"], { cwd: dir });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--signal: unknown signal 'NOPE'");
}, 60000);
