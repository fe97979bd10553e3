// Which C files make libckpt.so and the restore stub, and with which flags.
// All C flags live here, each explained once; scripts/build.ts links with
// them, and test/unit/no-circles.test.ts compiles with them to read symbols.
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dir, "..");

export const commonFlags = [
  "-O2", "-g",
  "-std=gnu11", "-Wall", "-Wextra", "-Werror",
  // Runs in a signal handler or with no libc: the canary lives in TLS,
  // which the restore stub sets up only at its very end.
  "-fno-stack-protector",
  // No CET notes: the stub jumps into restored code by register.
  "-fcf-protection=none",
];

export const libFlags = [
  "-shared", "-fPIC",
  // Resolve every symbol at load time. Lazy binding would write the GOT and
  // ld.so's data in the middle of a checkpoint, while those pages are being
  // checksummed and written.
  "-Wl,-z,now", "-Wl,-z,relro", "-fno-plt",
  "-fvisibility=hidden",
  "-Wl,-z,noexecstack",
];

export const stubFlags = [
  // A static-pie program with no libc and no startup files of its own.
  "-static-pie", "-fpie", "-nostdlib", "-ffreestanding", "-Wl,--no-dynamic-linker",
  // Globals are reached relative to the instruction pointer, never through
  // a GOT entry: with zero relocations a byte copy runs at any address.
  "-fvisibility=hidden",
  // No tables of absolute addresses (switch jump tables, lookup tables of
  // pointers) and no loops turned into calls of our own memcpy/memset.
  "-fno-jump-tables", "-fno-tree-switch-conversion", "-fno-tree-loop-distribute-patterns",
  "-fno-builtin",
  "-Wl,-z,noexecstack",
];

/**
 * The LZ4 codec of compressed images (--compress), from Debian's
 * liblz4-dev: its static archive is position-independent (only PC-relative
 * relocations), so both sides link it as it is. libckpt.so hides its
 * symbols (--exclude-libs), so a program that uses its own liblz4 keeps
 * it. The stub links only the block decompressor's object and provides
 * what it calls (c/stub/libc_bits.c, c/stub/inflate.c).
 */
export const lz4Archive = "/usr/lib/x86_64-linux-gnu/liblz4.a";
export const lz4Header = "/usr/include/lz4.h";
/** Without liblz4-dev the build leaves compression out, as it leaves musl
 * out without musl-gcc: `--compress` is then refused at launch, and the
 * stub refuses compressed images, each in one line. */
export const haveLz4 = existsSync(lz4Archive) && existsSync(lz4Header);
export const codecLibFlags = haveLz4 ? ["-DCKPT_HAVE_LZ4", "-Wl,--exclude-libs,ALL", lz4Archive] : [];
export const codecStubFlags = haveLz4 ? ["-DCKPT_HAVE_LZ4", lz4Archive] : [];

/** The files of `dir` ending in one of `exts`, sorted, as absolute paths; none if it does not exist. */
export const sources = (dir: string, exts: string[]) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter((f) => exts.some((e) => f.endsWith(e)))
        .sort()
        .map((f) => join(root, dir, f))
    : [];

const shared = () => ["c/crc32c.c", "c/maps.c"].map((f) => join(root, f));

// One file per kind of resource (c/kinds/), holding both directions: its
// capture half is compiled into libckpt.so (CKPT_LIB), its restore half into
// the stub (CKPT_STUB), its record checks into both.
const kinds = () => sources("c/kinds", [".c"]);

/** Everything linked into libckpt.so, compiled with -DCKPT_LIB. */
export const libSources = () => [...sources("c/lib", [".c", ".S"]), ...kinds(), ...shared()];

/** Everything linked into ckpt-restore, compiled with -DCKPT_STUB. */
export const stubSources = () => [...sources("c/stub", [".c", ".S"]), ...kinds(), ...shared()];

/**
 * The musl build of libckpt (libckpt-musl.so), for programs whose loader is
 * musl's: the same sources and flags through musl-gcc, which compiles
 * against musl's headers and links against its libc. Debian's musl-tools
 * ships no kernel headers for it, so `kernelHeaders` (linux/, asm/ and
 * asm-generic/ of the system's, which are libc-neutral) go on its include path.
 */
export const muslCc = process.env.MUSL_CC ?? "musl-gcc";

/** The system's kernel header directories: [name under include/, where it is]. */
export const kernelHeaderDirs = (): [string, string][] => [
  ["linux", "/usr/include/linux"],
  ["asm", existsSync("/usr/include/x86_64-linux-gnu/asm") ? "/usr/include/x86_64-linux-gnu/asm" : "/usr/include/asm"],
  ["asm-generic", "/usr/include/asm-generic"],
];
