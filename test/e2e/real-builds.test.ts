// Compilers and build systems nobody here wrote (make -j2 and gcc, cmake
// with ninja and with make, cargo, rustc, javac, g++), tried as a new user
// would: each is checkpointed mid-build (by SIGUSR2 or `ckpt checkpoint PID`)
// while its compilers run, restarted, and what it leaves behind must be an
// uninterrupted build's: the same bytes in every output, every object built
// once. "Mid-build" is made certain by what exists, never by time: some
// outputs written, others not, a compiler running. A missing tool fails,
// naming its Debian package.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import * as project from "./build-projects.ts";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, need, type Running, runToEnd, until } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const read = (path: string) => { try { return readFileSync(path, "utf8"); } catch { return ""; } };

/** The command name of `pid` and every process below it, and how many threads each has. */
function below(pid: number): { pid: number; comm: string; threads: number }[] {
  const out: { pid: number; comm: string; threads: number }[] = [];
  for (let queue = [pid]; queue.length; ) {
    const p = queue.shift()!;
    let tasks: string[] = [];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch {} // gone meanwhile
    out.push({ pid: p, comm: read(`/proc/${p}/comm`).trim(), threads: tasks.length });
    for (const t of tasks) queue.push(...read(`/proc/${p}/task/${t}/children`).trim().split(" ").filter(Boolean).map(Number));
  }
  return out;
}

const hasRunning = (run: Running, comm: string, atLeast = 1) => below(run.pid).filter((p) => p.comm === comm).length >= atLeast;
const files = (where: string, suffix: string) => (existsSync(where) ? readdirSync(where).filter((f) => f.endsWith(suffix)).sort() : []);
const bytes = (path: string) => readFileSync(path);
/** Output lines in a stable order (-j2 finishes jobs in either order) with the build's directory named D. */
const lineSet = (out: string, where: string) => out.split(where).join("D").split("\n").filter(Boolean).sort();

type How = "kill -USR2" | "ckpt checkpoint";

/**
 * Writes the project with `setup` into DIR/build and builds it there
 * uninterrupted, then moves that build to DIR/ref: the checkpointed build
 * runs in the same directory, as debug information and cargo's
 * fingerprints name it. Then writes the project again, builds it under
 * ckpt until `ready`, checkpoints it `how`, checks with `midBuild` that
 * the build was stopped unfinished, restarts it and waits for its end.
 * Returns both directories and what each build printed (the checkpointed
 * one's two parts joined).
 */
async function buildAcrossRestart(setup: (where: string) => void, cmd: string[], how: How,
  ready: (run: Running, where: string) => boolean, midBuild: (where: string) => void) {
  const ref = join(dir, "ref"), where = join(dir, "build");
  mkdirSync(where), setup(where);
  const reference = await runToEnd(cmd, { cwd: where }, 120000);
  expect(reference.code).toBe(0);
  renameSync(where, ref);
  mkdirSync(where), setup(where);
  const run = ckpt(cmd, { cwd: where });
  running.push(run);
  await until(() => ready(run, where) || run.proc.exitCode !== null, () => `not ready; stdout ${run.stdout} stderr ${run.stderr}`, 60000);
  expect(run.proc.exitCode).toBeNull(); // still building: the checkpoint is mid-build
  if (how === "kill -USR2") process.kill(run.pid, "SIGUSR2");
  else expect((await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: where })).code).toBe(0);
  // Its stderr with the status: a checkpoint refused says why there, and the build runs to its end.
  const code = await run.exit();
  expect({ code, stderr: code === EXIT_CHECKPOINTED ? "" : run.stderr }).toEqual({ code: EXIT_CHECKPOINTED, stderr: "" });
  expect(run.stderr).toMatch(/ckpt: (checkpoint written to|taking a checkpoint into) [^\n]*\n$/);
  midBuild(where);
  const rest = await runToEnd([CKPT, "restart"], { cwd: where }, 120000);
  expect(rest.code).toBe(0);
  const ckptLines = /^ckpt: [^\n]*\n/gm;
  return {
    ref, where,
    reference: { stdout: reference.stdout, stderr: reference.stderr },
    built: { stdout: run.stdout + rest.stdout, stderr: (run.stderr + rest.stderr).replace(ckptLines, "") },
  };
}

const allObjects = project.C_FILES + 1;

for (const how of ["kill -USR2", "ckpt checkpoint"] as How[])
  test(`make -j2 compiling ${allObjects} C files with gcc, checkpointed (${how}) while two cc1 run: each object built once, every object and the binary byte-identical to an uninterrupted build's`, async () => {
    need("make", "make"), need("cc", "gcc");
    const r = await buildAcrossRestart((d) => (project.cSources(d), project.makefile(d)), ["make", "-j2"], how,
      (run, where) => files(where, ".o").length >= 3 && hasRunning(run, "cc1", 2),
      (where) => expect(files(where, ".o").length).toBeLessThan(allObjects));
    // make echoes each command as it starts it: each compile once, none again after the restart
    expect(lineSet(r.built.stdout, r.where)).toEqual(lineSet(r.reference.stdout, r.where));
    expect(r.built.stderr).toBe(r.reference.stderr);
    expect(files(r.where, ".o")).toEqual(files(r.ref, ".o"));
    for (const o of files(r.ref, ".o")) expect(bytes(join(r.where, o)).equals(bytes(join(r.ref, o)))).toBe(true);
    expect(bytes(join(r.where, "prog")).equals(bytes(join(r.ref, "prog")))).toBe(true);
  }, 180000);

const CMAKE_OBJECTS = "b/CMakeFiles/prog.dir";
/** The outputs a .ninja_log records, one line per build of each. */
const ninjaLogOutputs = (where: string) => read(join(where, "b", ".ninja_log")).split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t")[3]).sort();

test("cmake -G Ninja, then ninja -j2, checkpointed (kill -USR2) while two cc1 run: .ninja_log records each output once, ninja has no work left, the binary is an uninterrupted build's", async () => {
  need("cmake", "cmake"), need("ninja", "ninja-build"), need("cc", "gcc");
  const r = await buildAcrossRestart((d) => (project.cSources(d), project.cmakeLists(d)),
    ["sh", "-c", "cmake -S . -B b -G Ninja >/dev/null && ninja -C b -j2"], "kill -USR2",
    (run, where) => files(join(where, CMAKE_OBJECTS), ".o").length >= 3 && hasRunning(run, "cc1", 2),
    (where) => expect(files(join(where, CMAKE_OBJECTS), ".o").length).toBeLessThan(allObjects));
  const withoutCounter = (out: string, where: string) => lineSet(out.replace(/^\[\d+\/\d+\] /gm, ""), where);
  expect(withoutCounter(r.built.stdout, r.where)).toEqual(withoutCounter(r.reference.stdout, r.where));
  expect(ninjaLogOutputs(r.where)).toEqual(ninjaLogOutputs(r.ref));
  expect(new Set(ninjaLogOutputs(r.where)).size).toBe(ninjaLogOutputs(r.where).length);
  const again = await runToEnd(["ninja", "-C", "b", "-n"], { cwd: r.where });
  expect(again.stdout).toContain("ninja: no work to do.");
  expect(bytes(join(r.where, "b", "prog")).equals(bytes(join(r.ref, "b", "prog")))).toBe(true);
}, 180000);

test("cmake with its Makefiles (make calling make, sharing a jobserver), make -j2 checkpointed (ckpt checkpoint) while two cc1 run: each object built once, the binary is an uninterrupted build's", async () => {
  need("cmake", "cmake"), need("make", "make"), need("cc", "gcc");
  const r = await buildAcrossRestart((d) => (project.cSources(d), project.cmakeLists(d)),
    ["sh", "-c", "cmake -S . -B b >/dev/null && make -C b -j2"], "ckpt checkpoint",
    (run, where) => files(join(where, CMAKE_OBJECTS), ".o").length >= 3 && hasRunning(run, "cc1", 2),
    (where) => expect(files(join(where, CMAKE_OBJECTS), ".o").length).toBeLessThan(allObjects));
  // cmake numbers its lines by progress, which -j2 orders either way
  const withoutProgress = (out: string, where: string) => lineSet(out.replace(/^\[ *\d+%\] /gm, ""), where);
  expect(withoutProgress(r.built.stdout, r.where)).toEqual(withoutProgress(r.reference.stdout, r.where));
  expect(r.built.stdout.match(/Building C object/g)).toHaveLength(allObjects);
  expect(r.built.stderr).toBe(r.reference.stderr);
  expect(bytes(join(r.where, "b", "prog")).equals(bytes(join(r.ref, "b", "prog")))).toBe(true);
}, 180000);

/** rustc at work with its helper threads started (its jobserver's, its codegen units'). */
const rustcAtWork = (run: Running) => below(run.pid).some((p) => p.comm === "rustc" && p.threads >= 3);

test("cargo build --offline --release of a crate with no dependencies, checkpointed (kill -USR2) while rustc runs with its threads: the binary is an uninterrupted build's", async () => {
  need("cargo", "cargo"), need("rustc", "rustc");
  const binary = "target/release/busy";
  const r = await buildAcrossRestart(project.cargoCrate, ["cargo", "build", "--offline", "--release"], "kill -USR2",
    (run) => rustcAtWork(run), (where) => expect(existsSync(join(where, binary))).toBe(false));
  const cargoLines = (err: string, where: string) => lineSet(err.replace(/ in [\d.]+m?s$/gm, ""), where);
  expect(cargoLines(r.built.stderr, r.where)).toEqual(cargoLines(r.reference.stderr, r.where));
  expect(bytes(join(r.where, binary)).equals(bytes(join(r.ref, binary)))).toBe(true);
}, 180000);

test("cargo build --offline (the default: debug, incremental, its session directory locked with flock), checkpointed (ckpt checkpoint) while rustc runs with its threads: the binary, debug information and all, is an uninterrupted build's", async () => {
  need("cargo", "cargo"), need("rustc", "rustc");
  const binary = "target/debug/busy";
  const r = await buildAcrossRestart(project.cargoCrate, ["cargo", "build", "--offline"], "ckpt checkpoint",
    (run, where) => rustcAtWork(run) && existsSync(join(where, "target/debug/incremental")),
    (where) => expect(existsSync(join(where, binary))).toBe(false));
  expect(bytes(join(r.where, binary)).equals(bytes(join(r.ref, binary)))).toBe(true);
  // the restarted cargo finished its session: a second build has nothing to compile
  const again = await runToEnd(["cargo", "build", "--offline"], { cwd: r.where });
  expect(again.code).toBe(0);
  expect(again.stderr).not.toContain("Compiling");
}, 180000);

test("rustc -O of one big file, checkpointed (ckpt checkpoint) while it runs with its threads: the binary is an uninterrupted build's", async () => {
  need("rustc", "rustc");
  const r = await buildAcrossRestart(project.rustFile, ["rustc", "-O", "big.rs"], "ckpt checkpoint",
    (run) => rustcAtWork(run), (where) => expect(existsSync(join(where, "big"))).toBe(false));
  expect(r.built).toEqual({ stdout: "", stderr: "" });
  expect(bytes(join(r.where, "big")).equals(bytes(join(r.ref, "big")))).toBe(true);
}, 180000);

test(`javac of ${project.JAVA_CLASSES + 1} classes (a JVM with its own SIGUSR2 handler), checkpointed (ckpt checkpoint) after some class files are written: each written once, every class file an uninterrupted build's`, async () => {
  const javac = need("javac", "openjdk-17-jdk-headless");
  const all = project.JAVA_CLASSES + 1;
  const written = (err: string) => err.split("\n").filter((l) => l.startsWith("[wrote ")).sort();
  const r = await buildAcrossRestart(project.javaSources, [javac, "-verbose", "-d", "out", "-sourcepath", "src", "src/Main.java"], "ckpt checkpoint",
    (run) => written(run.stderr).length >= 3, (where) => expect(files(join(where, "out"), ".class").length).toBeLessThan(all));
  expect(written(r.built.stderr)).toEqual(written(r.reference.stderr));
  expect(written(r.built.stderr)).toHaveLength(all);
  expect(files(join(r.where, "out"), ".class")).toEqual(files(join(r.ref, "out"), ".class"));
  for (const c of files(join(r.ref, "out"), ".class")) expect(bytes(join(r.where, "out", c)).equals(bytes(join(r.ref, "out", c)))).toBe(true);
}, 180000);

test("g++ -O2 of a template-heavy file, checkpointed (kill -USR2) while cc1plus writes its assembly: the assembly and the binary are an uninterrupted build's", async () => {
  need("g++", "g++");
  const r = await buildAcrossRestart(project.templateHeavyCpp, ["g++", "-O2", "-save-temps", "-frandom-seed=fixed", "-o", "big", "big.cpp"], "kill -USR2",
    (run, where) => existsSync(join(where, "big.s")) && statSync(join(where, "big.s")).size > 0 && hasRunning(run, "cc1plus"),
    (where) => expect(existsSync(join(where, "big"))).toBe(false));
  expect(r.built).toEqual(r.reference);
  for (const f of ["big.s", "big"]) expect(bytes(join(r.where, f)).equals(bytes(join(r.ref, f)))).toBe(true);
}, 180000);

/** Whether `pid`'s tree holds a process named `comm` with `file` mapped. */
const mapping = (pid: number, comm: string, file: string) => {
  for (const p of below(pid)) if (p.comm === comm && read(`/proc/${p.pid}/maps`).includes(file)) return true;
  return false;
};

test("gcc linking with gold, checkpointed (kill -USR2) while gold writes its output through a shared mapping of the file: the binary is an uninterrupted link's", async () => {
  need("cc", "gcc"), need("ld.gold", "binutils");
  const r = await buildAcrossRestart(project.bigDataSources, ["sh", "-c", "cc -c *.c && cc -fuse-ld=gold -o prog *.o"], "kill -USR2",
    (run, where) => mapping(run.pid, "ld.gold", join(where, "prog")), () => {});
  expect(r.built).toEqual(r.reference);
  const restarted = await runToEnd([join(r.where, "prog")], { cwd: r.where });
  expect(restarted.code).toBe(0);
  expect(bytes(join(r.where, "prog")).equals(bytes(join(r.ref, "prog")))).toBe(true);
}, 180000);

// A long build's checkpoints are periodic, and the build may die after one.
// gcc's driver deletes each temporary .s once `as` has read it. An image
// holding cc1 mid-write (or `as` mid-read) keeps the file's bytes and makes it
// again (c/kinds/fd_file.c), but one taken between the two, when only the
// driver knows the name and nobody has the file open, does not have it, and
// that compile fails after the restart ("can't open /tmp/ccXXXX.s"); with
// -pipe, cc1 writes into a pipe to `as` and there is no such file: the restart
// from the last image finishes exactly.
test("make -j2 with gcc -pipe under --interval, killed (SIGKILL, the whole tree) after a periodic image: the restart from that image builds every object and the binary byte-identical to an uninterrupted build's", async () => {
  need("make", "make"), need("cc", "gcc");
  const flags = "CFLAGS=-O2 -frandom-seed=fixed -pipe";
  const where = join(dir, "build"), ref = join(dir, "ref");
  mkdirSync(where), project.cSources(where), project.makefile(where);
  expect((await runToEnd(["make", "-j2", flags], { cwd: where }, 120000)).code).toBe(0);
  renameSync(where, ref);
  mkdirSync(where), project.cSources(where), project.makefile(where);
  const run = ckpt(["--interval", "1s", "make", "-j2", flags], { cwd: where });
  running.push(run);
  await until(() => (existsSync(join(where, "myckpt.dat")) && files(where, ".o").length >= 3 && hasRunning(run, "cc1")) || run.proc.exitCode !== null,
    () => `no image mid-build; stderr ${run.stderr}`, 60000);
  expect(run.proc.exitCode).toBeNull();
  for (const p of below(run.pid)) try { process.kill(p.pid, "SIGKILL"); } catch {} // gone meanwhile
  await run.done;
  expect(run.proc.signalCode).toBe("SIGKILL");
  expect(existsSync(join(where, "prog"))).toBe(false);
  const rest = await runToEnd([CKPT, "restart"], { cwd: where }, 120000);
  expect(rest.stderr).toBe("");
  expect(rest.code).toBe(0);
  expect(files(where, ".o")).toEqual(files(ref, ".o"));
  for (const o of files(ref, ".o")) expect(bytes(join(where, o)).equals(bytes(join(ref, o)))).toBe(true);
  expect(bytes(join(where, "prog")).equals(bytes(join(ref, "prog")))).toBe(true);
}, 180000);
