// Builds everything: the C parts with the system compiler, the demos and
// the test fixtures, then one self-contained executable (dist/ckpt) that embeds the C parts.
// The C flags and the files of each side live in c-sources.ts.
import { $ } from "bun";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { runPooled } from "./job-pool.ts";
import {
  root, commonFlags, libFlags, stubFlags, sources, libSources, stubSources, muslCc, kernelHeaderDirs,
  lz4Header, haveLz4, codecLibFlags, codecStubFlags,
} from "./c-sources.ts";

if (!haveLz4) console.warn("liblz4-dev not found: building without compressed images (install liblz4-dev to add --compress)");

const build = join(root, "build");
const cc = process.env.CC ?? "cc";

/**
 * Links `out` with debug information into build/debug/, then leaves a copy
 * without it at `out`: that copy is what the executable embeds, extracts
 * and compares byte for byte on every start, four times smaller. Debuggers
 * find the symbols in build/debug/ (same code, same addresses).
 */
async function linkStripped(out: string, link: (to: string) => Promise<unknown>) {
  const withDebug = join(build, "debug", basename(out));
  await link(withDebug);
  await $`objcopy --strip-debug ${withDebug} ${out}`;
}

async function buildLib() {
  const out = join(build, "libckpt.so");
  await linkStripped(out, (to) => $`${cc} ${commonFlags} ${libFlags} -DCKPT_LIB -o ${to} ${libSources()} ${codecLibFlags}`);
  return out;
}

/** Whether musl-gcc (or $MUSL_CC) can be run: without it no musl parts are built. */
const haveMusl = (await $`${muslCc} --version`.quiet().nothrow()).exitCode === 0;

/** build/musl-include/: the kernel headers, for musl-gcc (see c-sources.ts). */
function muslIncludeDir() {
  const dir = join(build, "musl-include");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, at] of kernelHeaderDirs()) symlinkSync(at, join(dir, name));
  if (haveLz4) symlinkSync(lz4Header, join(dir, "lz4.h"));
  return dir;
}

// libckpt-musl.so, or an empty file where musl-gcc is missing: the
// executable embeds it either way, and an empty one tells the launcher that
// this build does not support musl programs (src/process/assets.ts).
async function buildMuslLib() {
  const out = join(build, "libckpt-musl.so");
  if (!haveMusl) {
    console.warn(`${muslCc} not found: building without musl support (install musl-tools to add it)`);
    writeFileSync(out, "");
    return out;
  }
  const include = muslIncludeDir();
  // -z defs: a symbol musl's libc lacks (glibc's __sigaction was one) fails
  // the link here instead of the musl loader at every launch.
  await linkStripped(out, (to) => $`${muslCc} -isystem ${include} ${commonFlags} ${libFlags} -Wl,-z,defs -DCKPT_LIB -o ${to} ${libSources()} ${codecLibFlags}`);
  return out;
}

async function buildStub() {
  const out = join(build, "ckpt-restore");
  await linkStripped(out, (to) => $`${cc} ${commonFlags} ${stubFlags} -DCKPT_STUB -o ${to} ${stubSources()} ${codecStubFlags}`);
  const relocs = await $`readelf -rW ${out}`.text();
  if (!relocs.includes("There are no relocations")) {
    throw new Error(`ckpt-restore has relocations; it must run unrelocated at any address:\n${relocs}`);
  }
  return out;
}

/** Programs named NAME.musl.c are built with musl-gcc only (buildMuslPrograms). */
const MUSL_SUFFIX = ".musl.c";

// Each program of `dir` (demos/: what a user runs to see ckpt work;
// test/fixtures/: programs only the tests run) into build/<outDir>/, four
// ways: PIE and non-PIE, with and without -rdynamic, since all four place
// code and the dynamic symbol table differently.
async function buildPrograms(dir: string, outDir: string) {
  const out = join(build, outDir);
  mkdirSync(out, { recursive: true });
  const variants: [string, string[]][] = [
    ["", ["-fpie", "-pie"]],
    ["-nopie", ["-fno-pie", "-no-pie"]],
    ["-rdynamic", ["-fpie", "-pie", "-rdynamic"]],
    ["-nopie-rdynamic", ["-fno-pie", "-no-pie", "-rdynamic"]],
  ];
  // A program is compiled again only when it or a header beside it is
  // newer than what is built, so a rebuild after a small change is quick.
  const jobs = sources(dir, [".c"]).filter((src) => !src.endsWith(MUSL_SUFFIX)).flatMap((src) => {
    const name = src.split("/").pop()!.replace(/\.c$/, "");
    return variants
      .map(([suffix, flags]) => [join(out, name + suffix), flags] as const)
      .filter(([target]) => isStale(target, src, dir))
      .map(([target, flags]) => () => $`${cc} -O1 -g -Wall -pthread ${flags} ${ownFlags(src)} -o ${target} ${src} -lm`);
  });
  await runPooled(jobs);
}

// A program that needs a runtime of its own (-fopenmp for libgomp) says so
// on a `// build-flags:` line, so the flag reaches no other program.
const ownFlags = (src: string) => readFileSync(src, "utf8").match(/^\/\/ build-flags: (.+)$/m)?.[1]?.trim().split(/\s+/) ?? [];

const mtime = (path: string) => statSync(path).mtimeMs;
// A musl twin most often just includes the glibc fixture of its name: that file counts too.
const includedTwin = (src: string) => (src.endsWith(MUSL_SUFFIX) ? [src.slice(0, -MUSL_SUFFIX.length) + ".c"].filter(existsSync) : []);
const isStale = (target: string, src: string, dir: string) =>
  !existsSync(target) || mtime(target) < Math.max(mtime(src), ...includedTwin(src).map(mtime), ...sources(dir, [".h"]).map(mtime));

// The programs of `dir` named NAME.musl.c, with musl-gcc, into
// build/<outDir>/: NAME-musl (dynamically linked, musl's loader) and
// NAME-musl-static (no loader at all: what ckpt must refuse). None where
// musl-gcc is missing; the tests that need them say so.
async function buildMuslPrograms(dir: string, outDir: string) {
  if (!haveMusl) return;
  const out = join(build, outDir);
  mkdirSync(out, { recursive: true });
  const jobs = sources(dir, [MUSL_SUFFIX]).flatMap((src) => {
    const name = join(out, src.split("/").pop()!.slice(0, -MUSL_SUFFIX.length) + "-musl");
    return [
      [name, []],
      [name + "-static", ["-static"]],
    ]
      .filter(([target]) => isStale(target as string, src, dir))
      .map(([target, flags]) => () => $`${muslCc} -O1 -g -Wall -pthread ${flags} -o ${target} ${src}`);
  });
  await runPooled(jobs);
}

async function compileCli() {
  mkdirSync(join(root, "dist"), { recursive: true });
  // Bytecode and minification halve the executable's start-up time, which
  // every `ckpt PROGRAM` adds to the program's own; ES modules split into
  // chunks take another 2-3 ms off (docs/performance.md), as a start loads
  // only its command's chunks, not the whole bundle (the menu's prompts,
  // the image reader). A compiled executable would also load .env and
  // bunfig.toml from the working directory, into the environment the
  // program inherits: never wanted.
  const flags = [
    "--compile", "--bytecode", "--minify", "--format", "esm", "--splitting",
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  ];
  // Each embedded file's size and sha256, so ckpt checks its cached copies
  // without reading the embedded bytes at each start. Imported here:
  // assets.ts needs the C parts built.
  const { embeddedAssets } = await import("../src/process/assets.ts");
  const digests = Object.fromEntries((await embeddedAssets()).map((s) => [s.name, { size: s.size, digest: s.digest }]));
  flags.push("--define", `CKPT_ASSET_DIGESTS=${JSON.stringify(digests)}`);
  flags.push("--define", `CKPT_HAVE_LZ4=${haveLz4}`);
  await $`${process.execPath} build ${flags} ${join(root, "src/cli.ts")} --outfile ${join(root, "dist/ckpt")}`.quiet();
}

mkdirSync(join(build, "debug"), { recursive: true });
await Promise.all([
  buildLib(), buildMuslLib(), buildStub(), buildPrograms("demos", "demos"), buildPrograms("test/fixtures", "fixtures"),
  buildMuslPrograms("test/fixtures", "fixtures"),
]);
await compileCli();
if (!existsSync(join(root, "dist/ckpt"))) throw new Error("dist/ckpt was not produced");
console.log(`built dist/ckpt, build/libckpt.so, ${haveMusl ? "build/libckpt-musl.so, " : ""}build/ckpt-restore, build/demos/, build/fixtures/`);
