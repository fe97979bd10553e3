// Projects the real-build tests compile (test/e2e/real-builds.test.ts),
// written out as source trees: big enough that a build takes seconds on a
// loaded machine, so a checkpoint lands mid-build, and small enough that an
// uninterrupted build and a checkpointed one fit in a test.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** How many C files (main.c aside) the C project has: the objects a build makes. */
export const C_FILES = 24;

/** C_FILES generated .c files and a main.c calling into each; returns the object names. */
export function cSources(where: string): string[] {
  const numbers = Array.from({ length: 120 }, (_, k) => (k * 37) % 101).join(", ");
  for (let i = 1; i <= C_FILES; i++) {
    const helpers = Array.from({ length: 16 }, (_, j) => `int g${i}_${j}(int x) { return f${i}(x + ${j}) * ${j + 1}; }`);
    writeFileSync(join(where, `f${i}.c`),
      `static const int table${i}[] = { ${numbers} };\n` +
      `int f${i}(int x) { int s = 0; for (int k = 0; k < 120; k++) s += table${i}[k] * (x ^ k) % 7; return s + ${i}; }\n` +
      `${helpers.join("\n")}\n`);
  }
  const decls = Array.from({ length: C_FILES }, (_, i) => `int f${i + 1}(int);`).join("\n");
  const calls = Array.from({ length: C_FILES }, (_, i) => `\ts += f${i + 1}(${i});`).join("\n");
  writeFileSync(join(where, "main.c"), `#include <stdio.h>\n${decls}\nint main(void)\n{\n\tlong s = 0;\n${calls}\n\tprintf("%ld\\n", s);\n\treturn 0;\n}\n`);
  return [...Array.from({ length: C_FILES }, (_, i) => `f${i + 1}.o`), "main.o"];
}

/** A plain Makefile: one rule per object, the link last. -frandom-seed keeps gcc's
 * output from depending on the run (it seeds names it would otherwise draw at random). */
export function makefile(where: string): void {
  writeFileSync(join(where, "Makefile"),
    "OBJS := $(patsubst %.c,%.o,$(sort $(wildcard *.c)))\nCFLAGS := -O2 -frandom-seed=fixed\n" +
    "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n");
}

export function cmakeLists(where: string): void {
  writeFileSync(join(where, "CMakeLists.txt"),
    "cmake_minimum_required(VERSION 3.13)\nproject(generated C)\nfile(GLOB SRCS *.c)\nadd_executable(prog ${SRCS})\n" +
    "target_compile_options(prog PRIVATE -O2 -frandom-seed=fixed)\n");
}

/** C files each defining 2 MiB of initialized data: a link that writes 60 MiB, which
 * gold does through a shared mapping of its output file. */
export function bigDataSources(where: string): void {
  for (let i = 1; i <= 30; i++) writeFileSync(join(where, `d${i}.c`), `int d${i}[1 << 19] = { ${i} };\nint f${i}(void) { return d${i}[0]; }\n`);
  const decls = Array.from({ length: 30 }, (_, i) => `int f${i + 1}(void);`).join("\n");
  const sum = Array.from({ length: 30 }, (_, i) => `f${i + 1}()`).join(" + ");
  writeFileSync(join(where, "main.c"), `${decls}\nint main(void) { return (${sum}) == 465 ? 0 : 1; }\n`);
}

/** Rust functions enough to keep rustc -O busy for seconds, and a main using them all. */
function rustItems(count: number, module = ""): { items: string; calls: string } {
  const items: string[] = [], calls: string[] = [];
  for (let i = 0; i < count; i++) {
    items.push(`pub fn f${i}(v: &[u64]) -> u64 { v.iter().enumerate().map(|(k, x)| (x ^ ${i}u64).wrapping_mul(k as u64 + 3) % 977).fold(${i}, |a, b| a.wrapping_add(b).rotate_left(3)) }`);
    items.push(`pub fn g${i}<T: std::fmt::Debug + Clone>(t: T) -> String { format!("{:?}${i}", vec![t; ${(i % 5) + 1}]) }`);
    calls.push(`\ts = s.wrapping_add(${module}f${i}(&v));\n\ts = s.wrapping_add(${module}g${i}(s).len() as u64);`);
  }
  return { items: items.join("\n") + "\n", calls: calls.join("\n") };
}

const rustMain = (calls: string) => `fn main() {\n\tlet v: Vec<u64> = (0..100).collect();\n\tlet mut s = 0u64;\n${calls}\n\tprintln!("{}", s);\n}\n`;

/** One big file for `rustc -O`. */
export function rustFile(where: string): void {
  const { items, calls } = rustItems(160);
  writeFileSync(join(where, "big.rs"), items + rustMain(calls));
}

/** A crate with no dependencies, as `cargo new` makes it, with four modules of code. */
export function cargoCrate(where: string): void {
  mkdirSync(join(where, "src"));
  writeFileSync(join(where, "Cargo.toml"), '[package]\nname = "busy"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n');
  let main = "", calls = "";
  for (let m = 0; m < 4; m++) {
    const module = rustItems(40, `m${m}::`);
    writeFileSync(join(where, "src", `m${m}.rs`), module.items);
    main += `mod m${m};\n`;
    calls += module.calls + "\n";
  }
  writeFileSync(join(where, "src", "main.rs"), main + rustMain(calls));
}

/** How many classes the Java project has besides Main: each javac writes as it goes. */
export const JAVA_CLASSES = 60;

/** Classes chained C0 ← C1 ← … so javac reaches each from Main, each with lambdas to compile. */
export function javaSources(where: string): void {
  mkdirSync(join(where, "src"));
  for (let i = 0; i < JAVA_CLASSES; i++) {
    const methods = Array.from({ length: 20 }, (_, j) =>
      `\tpublic static int m${j}(int x) { return java.util.stream.IntStream.range(0, x).map(k -> k * ${j} + ${i}).filter(k -> k % 3 == 0).sum(); }`);
    const sum = Array.from({ length: 20 }, (_, j) => `m${j}(${j})`).join(" + ") + (i ? ` + C${i - 1}.all()` : "");
    writeFileSync(join(where, "src", `C${i}.java`), `public class C${i} {\n${methods.join("\n")}\n\tpublic static int all() { return ${sum}; }\n}\n`);
  }
  writeFileSync(join(where, "src", "Main.java"), `public class Main {\n\tpublic static void main(String[] a) { System.out.println(C${JAVA_CLASSES - 1}.all()); }\n}\n`);
}

/** A C++ file instantiating a std::map/sort-heavy template 24 times over. */
export function templateHeavyCpp(where: string): void {
  const types = ["int", "long", "double", "short", "unsigned", "float"];
  const calls = Array.from({ length: 24 }, (_, i) => {
    const k = types[i % 6], v = types[Math.floor(i / 6) % 6];
    return `\ts += work<${k}, ${v}, ${i}>(std::vector<${k}>(ks.begin(), ks.end()));`;
  });
  writeFileSync(join(where, "big.cpp"), `#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>
template <int N> struct Fib { static constexpr long v = Fib<N - 1>::v + Fib<N - 2>::v; };
template <> struct Fib<0> { static constexpr long v = 0; };
template <> struct Fib<1> { static constexpr long v = 1; };
template <typename K, typename V, int N> long work(const std::vector<K>& ks)
{
	std::map<K, V> m;
	for (auto& k : ks) m[k] = V(k) * N;
	long s = 0;
	for (auto& [k, v] : m) s += (long)v % (N + 7);
	std::vector<V> vs;
	for (auto& p : m) vs.push_back(p.second);
	std::sort(vs.begin(), vs.end());
	return s + (long)vs.size() + Fib<N % 40>::v;
}
int main()
{
	std::vector<int> ks;
	for (int i = 0; i < 100; i++) ks.push_back(i * 7 % 31);
	long s = 0;
${calls.join("\n")}
	std::printf("%ld\\n", s);
}
`);
}
