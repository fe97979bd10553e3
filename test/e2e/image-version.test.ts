// The image format version in every reader: `ckpt info`, `ckpt list` and
// the restore stub (`ckpt restart`) read only their own version. Versions
// are relative to CKPT_VERSION, so the test holds across a format bump: the
// one before (an older image), the one after, and the largest. Each image
// is otherwise valid, with both checksums recomputed, so only the version
// check can refuse it.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_VERSION, HEADER } from "../../src/image/format.ts";
import { buildImage, poke } from "../unit/image-builder.ts";
import { CKPT, eachTestInTempDir, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const run = (args: string[]) => runToEnd([CKPT, ...args], { cwd: dir }, 30000);
const refusal = (v: number) => `unsupported image version ${v} (this ckpt reads version ${CKPT_VERSION})`;

function imageWithVersion(name: string, version: number): string {
  const p = join(dir, name);
  writeFileSync(p, poke(buildImage(), HEADER, 0, "version", version), { mode: 0o600 });
  return p;
}

test("the current version is read (the images below differ only in it)", async () => {
  imageWithVersion("current.dat", CKPT_VERSION);
  const r = await run(["info", "--json", "current.dat"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(JSON.parse(r.stdout).image.formatVersion).toBe(CKPT_VERSION);
}, 30000);

describe("another version is refused with one line", () => {
  for (const [label, version] of [["zero", 0], ["older", CKPT_VERSION - 1], ["newer", CKPT_VERSION + 1], ["largest", 0xffffffff]] as const)
    test(`${label}: ${version}`, async () => {
      const path = imageWithVersion("v.dat", version);
      for (const args of [["info", "v.dat"], ["info", "--json", "v.dat"], ["info", "--verify", "v.dat"]]) {
        const r = await run(args);
        expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 1, stdout: "", stderr: `ckpt: v.dat: ${refusal(version)}\n` });
      }
      const list = await run(["list"]);
      expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" });
      expect(list.stdout.trimEnd().split("\n")[1]).toMatch(new RegExp(`^v\\.dat +\\S.* unusable: ${refusal(version).replace(/[()]/g, "\\$&")}$`));
      const restart = await run(["restart", "v.dat"]);
      expect(restart).toEqual({ code: 1, stdout: "", stderr: `ckpt: cannot restart ${path}: ${refusal(version)}\n` });
    }, 30000);
});
