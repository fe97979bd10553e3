// `ckpt PROGRAM` behaves like running PROGRAM directly: same pid, same
// arguments, same exit status, same signal dispositions and limits as the
// shell gave, and a checkpoint signal reaches the program itself.
import { expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedAssets } from "../../src/process/assets.ts";
import { assetsHash } from "../../src/process/cache.ts";
import { ckpt, CKPT, demo, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const sh = (script: string, env: Record<string, string> = {}) =>
  runToEnd(["/usr/bin/bash", "-c", script], { cwd: dir, env: { CKPT: CKPT, ...env } });

test("the program runs as ckpt's own pid, so `kill -USR2 $!` reaches it", async () => {
  const run = ckpt([demo("ticker"), "200"], { cwd: dir });
  await run.waitFor((o) => lines(o) >= 2);
  expect(readFileSync(`/proc/${run.pid}/comm`, "utf8").trim()).toBe("ticker");
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(true);
}, 30000);

test("arguments after the program are the program's, even ones that look like ckpt options", async () => {
  const r = await runToEnd([CKPT, "/bin/echo", "--image", "x", "--continue", "-u"], { cwd: dir });
  expect(r.stdout).toBe("--image x --continue -u\n");
  expect(existsSync(join(dir, "x"))).toBe(false);
});

test("a program named like a subcommand runs with `ckpt run`", async () => {
  copyFileSync("/bin/echo", join(dir, "restart"));
  const r = await runToEnd([CKPT, "run", "restart", "hi"], { cwd: dir, env: { PATH: `${dir}:${process.env.PATH}` } });
  expect(r).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
});

test("the program's exit status passes through", async () => {
  const r = await runToEnd([CKPT, fixture("buffered-output")], { cwd: dir });
  expect(r.code).toBe(7);
});

test("SIGPIPE is back to default: `ckpt yes | head -1` ends like `yes | head -1`", async () => {
  const r = await sh('"$CKPT" /usr/bin/yes | head -1; echo "status ${PIPESTATUS[0]}"');
  expect(r.stdout).toBe("y\nstatus 141\n");
});

test("dispositions the shell set are kept (nohup's SIGHUP), Bun's own are undone", async () => {
  const r = await sh(`trap '' HUP; exec "$CKPT" /usr/bin/grep SigIgn /proc/self/status`);
  const ignored = BigInt(`0x${r.stdout.split(/\s+/)[1]}`);
  const bit = (sig: number) => (ignored >> BigInt(sig - 1)) & 1n;
  expect({ hup: bit(1), pipe: bit(13), xfsz: bit(25) }).toEqual({ hup: 1n, pipe: 0n, xfsz: 0n });
});

// A compiled Bun executable would otherwise load .env and bunfig.toml from
// the working directory into its own environment, which the program inherits.
test("a .env or bunfig.toml in the working directory does not reach the program", async () => {
  await Bun.write(join(dir, ".env"), "CKPT_TEST_DOTENV=leaked\n");
  await Bun.write(join(dir, "bunfig.toml"), 'preload = ["./nothing.ts"]\n');
  const r = await runToEnd([CKPT, "/usr/bin/env"], { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stdout).not.toContain("CKPT_TEST_DOTENV");
  expect(r.stdout).toMatch(/^PATH=/m);
});

// The build computes the cache directory's name; a stale one would mix builds.
test("the helper files are extracted, byte for byte, under the hash of the embedded set, as needed", async () => {
  const cache = join(dir, "cache");
  const r = await runToEnd([CKPT, "/bin/true"], { cwd: dir, env: { XDG_CACHE_HOME: cache } });
  expect(r.code).toBe(0);
  const assets = await embeddedAssets();
  const hashDir = join(cache, "ckpt", assetsHash(assets));
  expect(readdirSync(join(cache, "ckpt"))).toEqual([assetsHash(assets)]);
  // Running needs no restore stub; both libraries when the build has musl's (an exec may switch libc).
  expect(readdirSync(hashDir).sort()).toEqual(assets.length === 3 ? ["libckpt-musl.so", "libckpt.so"] : ["libckpt.so"]);
  expect(readFileSync(join(hashDir, "libckpt.so")).equals(await assets[0]!.bytes())).toBe(true);
});

// Bun raises the soft limit before our code runs; the parent's limit is
// what the program would have inherited (ARCHITECTURE.md notes the limit
// of this when ckpt is exec'd by its parent).
test("the open-files soft limit is the shell's, not the one Bun raised", async () => {
  const r = await sh(`ulimit -Sn 256; "$CKPT" /usr/bin/bash -c 'ulimit -Sn'; true`);
  expect(r.stdout).toBe("256\n");
});

test("CKPT_IMAGE chooses the image path; --signal chooses the trigger", async () => {
  const run = ckpt(["--signal", "USR1", demo("ticker"), "200"], { cwd: dir, env: { CKPT_IMAGE: join(dir, "chosen.dat") } });
  await run.waitFor((o) => lines(o) >= 2);
  process.kill(run.pid, "SIGUSR1");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  expect(existsSync(join(dir, "chosen.dat"))).toBe(true);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 30000);
