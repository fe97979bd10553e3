// SysV shared memory (c/kinds/mem_sysv.c, c/stub/sysv_shm.c,
// c/lib/tree_shared_memory.c): a segment comes back at the id the program
// kept, with its size, mode, bytes, attachments (SHM_RDONLY as it was) and
// IPC_RMID mark, in one process and between the processes of a tree,
// checked from inside after the restart. What cannot come back exactly is
// refused in one line, the program running on, the earlier image intact.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_HEADER_SIZE, CKPT_REGION_SYSV_SHM, REGION } from "../../src/image/format.ts";
import { ImageError, readImage } from "../../src/image/read.ts";
import { imageRefusal } from "../../src/image/verdict.ts";
import { CKPT_ENV_NAMESPACE, CKPT_NAMESPACE_TEST_UNAVAILABLE } from "../../src/protocol/protocol.ts";
import { reseal } from "../fuzz/mutate.ts";
import { checkpointRun, ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, ROOT, type Running, runToEnd, spawn } from "./harness.ts";

let dir: string;
const started: Running[] = []; // killed after each test, should one fail while its program waits for a restart
eachTestInTempDir((d) => (dir = d), started);
const track = (run: Running) => (started.push(run), run);

const checksOf = (out: string) => out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));

interface Segment { id: number; size: number; mode: number; removed: boolean }

async function segmentsInImage(image = "myckpt.dat"): Promise<{ name: string; perms: string; vmFlags: string[]; sysvSegment: Segment }[]> {
  const info = await runToEnd([CKPT, "info", "--json", image], { cwd: dir });
  expect(info.code).toBe(0);
  return JSON.parse(info.stdout).regions.filter((r: { kind: string }) => r.kind === "sysv-shm");
}

/** The checkpointed program exited in stop mode without removing its segment: it stays on the host, as after a kill. */
function removeLeftOver(id: number) {
  Bun.spawnSync(["ipcrm", "-m", String(id)]);
}

for (const mode of ["kept", "removed"]) {
  test(`one process (${mode}): same id, size, mode, attachments and bytes after a restart; a new shmat is the same memory`, async () => {
    const first = await checkpointRun([fixture("sysv-segment"), mode], { cwd: dir, afterLines: 1 });
    expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
    expect(first.code).toBe(EXIT_CHECKPOINTED);

    const views = await segmentsInImage();
    expect(views).toHaveLength(2);
    const id = views[0]!.sysvSegment.id;
    expect(views.map((v) => v.sysvSegment)).toEqual([1, 2].map(() => ({ id, size: 3 * 4096 + 100, mode: 0o640, removed: mode === "removed" })));
    expect(views.map((v) => [v.perms, v.vmFlags])).toEqual([["r--s", []], ["rw-s", ["maywrite"]]]);
    const text = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
    expect(text).toContain(`(SysV segment id ${id}, 12388 bytes, mode 0640${mode === "removed" ? ", removed (IPC_RMID)" : ""}, SHM_RDONLY)`);
    if (mode === "kept") removeLeftOver(id);

    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(checksOf(rest.stdout)).toHaveLength(10);
    expect(rest.code).toBe(0);
  }, 60000);
}

test("--continue: the image is written while the program runs on, and restarts with the segment as it was at the checkpoint", async () => {
  const run = track(ckpt(["--continue", fixture("sysv-segment"), "removed"], { cwd: dir }));
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  await run.waitFor(() => run.stderr.includes("checkpoint written"));
  expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*myckpt\.dat \(.*\); continuing\n$/);
  run.proc.kill("SIGTERM");
  await run.exit();
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(checksOf(rest.stdout)).toHaveLength(10);
  expect(rest.code).toBe(0);
}, 60000);

const ROUNDS = 150;
const linesOf = (out: string) => out.split("\n").filter((l) => l && !l.startsWith("PASS") && !l.startsWith("FAIL"));

for (const mode of ["kept", "removed"]) {
  test(`a tree (${mode}): two children add to a counter under a process-shared mutex in the parent's segment; output and counter as uninterrupted`, async () => {
    const whole = await runToEnd([fixture("sysv-tree"), String(ROUNDS), mode], { cwd: dir });
    expect(whole.code).toBe(0);
    expect(whole.stdout).toContain(`final counter ${2 * ROUNDS}\n`);

    const run = track(spawn(["setsid", CKPT, fixture("sysv-tree"), String(ROUNDS), mode], { cwd: dir }));
    await run.waitFor((o) => o.includes("half\n"));
    process.kill(run.pid, "SIGUSR2");
    expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
    expect(run.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
    // Each of the three processes maps the segment once, under the same id.
    const views = [await segmentsInImage()];
    const members = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout).tree.processes;
    for (const m of members.filter((p: { image: { file: string } | null }) => p.image && p.image.file !== "myckpt.dat"))
      views.push(await segmentsInImage(m.image.file));
    expect(views.map((v) => v.length)).toEqual([1, 1, 1]);
    const id = views[0]![0]!.sysvSegment.id;
    expect(new Set(views.map((v) => v[0]!.sysvSegment.id))).toEqual(new Set([id]));
    if (mode === "kept") removeLeftOver(id);

    const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(rest.stderr).toBe("");
    expect(linesOf(run.stdout + rest.stdout)).toEqual(linesOf(whole.stdout));
    expect(checksOf(rest.stdout)).toEqual(checksOf(whole.stdout));
    expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(rest.code).toBe(0);
  }, 90000);
}

test("a removed segment whose one view is a child's read-only one: the child reads it after a restart, and it is gone after its shmdt", async () => {
  const run = track(spawn(["setsid", CKPT, fixture("sysv-reader")], { cwd: dir }));
  await run.waitFor((o) => o.includes("ready\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
  const views = await segmentsInImage();
  expect(views).toHaveLength(0); // the parent detached its own
  const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(rest.stderr).toBe("");
  expect(checksOf(rest.stdout)).toHaveLength(4);
  expect(checksOf(rest.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(rest.code).toBe(0);
}, 60000);

test("a tree whose children posted a SysV semaphore is refused in one line naming the set and a child, the tree running on", async () => {
  const run = track(spawn(["setsid", CKPT, fixture("sysv-tree"), String(ROUNDS), "sem"], { cwd: dir }));
  await run.waitFor((o) => o.includes("half\n"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stderr).toMatch(
    /^ckpt: checkpoint failed: SysV semaphore set id \d+, which process \d+ \(sysv-tree\) operated on last, would not be there after a restart: .*; the program continues\n$/,
  );
  expect(run.stdout).toContain(`final counter ${2 * ROUNDS}\n`);
  expect(checksOf(run.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

/** A good image first, then `mode`'s checkpoint refused: the program runs on and the image is the same file. */
async function refusedCheckpoint(mode: string, why: RegExp) {
  const good = await checkpointRun([fixture("sysv-segment"), "removed"], { cwd: dir, afterLines: 1 });
  expect(good.code).toBe(EXIT_CHECKPOINTED);
  const before = readFileSync(join(dir, "myckpt.dat"));
  const run = track(ckpt([fixture("sysv-segment"), mode], { cwd: dir }));
  await run.waitFor((o) => o.includes("ready"));
  process.kill(run.pid, "SIGUSR2");
  expect(await run.exit()).toBe(0);
  expect(run.stdout).toBe("ready\nstill running\n");
  expect(run.stderr).toMatch(new RegExp(`^ckpt: checkpoint failed: ${why.source}; the program continues\\n$`));
  expect(readFileSync(join(dir, "myckpt.dat")).equals(before)).toBe(true);
}

test("a segment with a key is refused in one line naming it: a process outside could attach it by the key", async () => {
  await refusedCheckpoint("keyed", /SysV shared memory segment id \d+ at 0x[0-9a-f]+-0x[0-9a-f]+ has a key \(0x5eed[0-9a-f]+\): .*only IPC_PRIVATE segments are restored/);
}, 60000);

test("a view of part of a segment is refused in one line naming it", async () => {
  await refusedCheckpoint("partial", /SysV shared memory segment id \d+ at 0x[0-9a-f]+-0x[0-9a-f]+ is mapped in part .*/);
}, 60000);

test("a segment locked in memory (SHM_LOCK) is refused in one line naming it", async () => {
  await refusedCheckpoint("locked", /SysV shared memory segment id \d+ at 0x[0-9a-f]+-0x[0-9a-f]+ is locked in memory \(SHM_LOCK\), which a restart does not do again/);
}, 60000);

test("a SysV semaphore the program operated on is refused in one line naming it: the restart's IPC namespace would not hold it", async () => {
  await refusedCheckpoint("sem", /SysV semaphore set id \d+, which process \d+ \(sysv-segment\) operated on last, would not be there after a restart: .*checkpoint once it is removed/);
}, 60000);

test("a SysV message queue the program sent to is refused in one line naming it", async () => {
  await refusedCheckpoint("msg", /SysV message queue id \d+, which process \d+ \(sysv-segment\) sent to or received from last, would not be there after a restart: .*/);
}, 60000);

test("--new-pid, or namespaces unavailable: an image with a segment is refused in one line, non-zero, the image intact", async () => {
  const first = await checkpointRun([fixture("sysv-segment"), "removed"], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const before = readFileSync(join(dir, "myckpt.dat"));
  const rest = await runToEnd([CKPT, "restart", "--new-pid"], { cwd: dir });
  expect(rest.stdout).toBe("");
  expect(rest.stderr).toMatch(
    /^ckpt: cannot restart .*myckpt\.dat: the image holds SysV shared memory \(segment id \d+\), which restarts only into new namespaces, where each segment gets its id back: --new-pid asks for none\n$/,
  );
  expect(rest.code).not.toBe(0);
  // Where namespaces are unavailable too (simulated: CKPT_ENV_NAMESPACE), rather than coming back without the segment.
  const unavailable = await runToEnd([CKPT, "restart"], { cwd: dir, env: { [CKPT_ENV_NAMESPACE]: CKPT_NAMESPACE_TEST_UNAVAILABLE } });
  expect(unavailable.stderr).toMatch(
    /^ckpt: cannot restart .*myckpt\.dat: the image holds SysV shared memory \(segment id \d+\), which restarts only into new namespaces, where each segment gets its id back: namespaces made unavailable for a test .*\n$/,
  );
  expect(unavailable.code).not.toBe(0);
  expect(readFileSync(join(dir, "myckpt.dat")).equals(before)).toBe(true);
  // The image still restarts as it should.
  const again = await runToEnd([CKPT, "restart"], { cwd: dir });
  expect(checksOf(again.stdout).filter((l) => l.startsWith("FAIL"))).toEqual([]);
  expect(again.code).toBe(0);
}, 60000);

test("a SysV view's record words at their edges: the reader and the restore stub accept and refuse the same", async () => {
  const first = await checkpointRun([fixture("sysv-segment"), "removed"], { cwd: dir, afterLines: 1 });
  expect(first.code).toBe(EXIT_CHECKPOINTED);
  const path = join(dir, "myckpt.dat");
  const original = new Uint8Array(readFileSync(path));
  const image = readImage(path);
  const at = image.regions.flatMap((r, i) => (r.kind === CKPT_REGION_SYSV_SHM ? [CKPT_HEADER_SIZE + image.header.regionsOff + i * REGION.size] : []));
  expect(at).toHaveLength(2);
  const words = ["kind", "flags", "file_offset", "dev", "ino", "file_size"].flatMap((f) => {
    const { off, size } = REGION.fields[f as keyof typeof REGION.fields];
    return size === 8 ? [off, off + 4] : [off];
  });
  const mutated = join(dir, "mutated.dat");
  const disagreements: string[] = [];
  const count = { accepted: 0, refused: 0 };
  for (const base of at) {
    expect(new DataView(original.buffer).getUint32(base + REGION.fields.kind.off, true)).toBe(CKPT_REGION_SYSV_SHM);
    for (const w of words)
      for (const value of [0, 1, 5, 6, 7, 8, 0o777, 0o1000, 4096, 12388, 16384, 0x7fffffff, 0x80000000, 0xffffffff]) {
        const img = original.slice();
        new DataView(img.buffer).setUint32(base + w, value >>> 0, true);
        reseal(img);
        writeFileSync(mutated, img, { mode: 0o600 });
        let reader: string | undefined;
        try {
          readImage(mutated);
        } catch (e) {
          if (!(e instanceof ImageError)) throw e;
          reader = e.message;
        }
        const stub = imageRefusal(join(ROOT, "build", "ckpt-restore"), mutated, "tables");
        if ((reader === undefined) !== (stub === undefined))
          disagreements.push(`word ${base + w} = ${value}: reader ${reader ?? "accepts"}; stub ${stub ?? "accepts"}`);
        count[stub === undefined ? "accepted" : "refused"]++;
      }
  }
  expect(disagreements).toEqual([]);
  expect(count.accepted).toBeGreaterThan(5);
  expect(count.refused).toBeGreaterThan(50);
}, 120000);
