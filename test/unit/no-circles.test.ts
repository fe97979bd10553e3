// No source file reaches itself through what it calls or imports, and none
// grows past 400 lines. For C, each side (libckpt.so, the stub) is compiled
// file by file with the build's own flags, and an edge A → B is a symbol A
// leaves undefined that B defines: what the linker will join. For
// TypeScript, an edge is a relative import, static or dynamic. Each check is
// first run on a planted circle, so a pipeline that sees nothing fails.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { commonFlags, libFlags, libSources, root, stubFlags, stubSources } from "../../scripts/c-sources.ts";

const MAX_LINES = 400;
const tmp = mkdtempSync(join(tmpdir(), "ckpt-circles-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** file → the files it uses, with the symbols (C) that make each edge. */
type Graph = Map<string, Map<string, string[]>>;

function addNode(g: Graph, file: string) {
  if (!g.has(file)) g.set(file, new Map());
}

function addEdge(g: Graph, from: string, to: string, why?: string) {
  addNode(g, from);
  addNode(g, to);
  const whys = g.get(from)!.get(to) ?? [];
  if (why) whys.push(why);
  g.get(from)!.set(to, whys);
}

// Link-time options mean nothing to `cc -c`, and debug information changes
// no symbol (it only costs a third of the time); everything else is kept.
const compileOnly = (flags: string[]) =>
  flags.filter((f) => !f.startsWith("-Wl,") && f !== "-shared" && f !== "-static-pie" && f !== "-g");

async function run(argv: string[]) {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
  if (code !== 0) throw new Error(`${argv.join(" ")} failed:\n${err}`);
  return out;
}

/** Compiles `files` (two at a time: the machine is shared) and joins them by symbol. */
async function cGraph(side: string, files: string[], flags: string[], base: string): Promise<Graph> {
  const dir = join(tmp, side);
  mkdirSync(dir, { recursive: true });
  const objectOf = new Map(files.map((f, i) => [join(dir, `${i}.o`), relative(base, f)]));
  const pending = [...objectOf.entries()];
  const worker = async () => {
    for (let job; (job = pending.shift()); )
      await run(["cc", ...compileOnly(flags), "-c", "-o", job[0], join(base, job[1])]);
  };
  await Promise.all([worker(), worker()]);
  const symbols = async (which: string) =>
    (await run(["nm", "-P", "-A", which, ...objectOf.keys()]))
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [file, name, type] = line.replace(/^(\S+?\.o):\s*/, "$1 ").split(/\s+/);
        return { file: objectOf.get(file!)!, name: name!, type: type! };
      });
  const definer = new Map<string, string>();
  const graph: Graph = new Map([...objectOf.values()].map((f) => [f, new Map()]));
  for (const s of await symbols("--defined-only"))
    if (/[A-TV-Z]/.test(s.type)) definer.set(s.name, s.file); // global: upper case (U is undefined)
  for (const s of await symbols("--undefined-only")) {
    const to = definer.get(s.name);
    if (to && to !== s.file) addEdge(graph, s.file, to, s.name);
  }
  return graph;
}

/** Relative imports of every .ts file under `dir`: `import … from`, `export … from`, `import("…")`. */
function tsGraph(dir: string, base: string): Graph {
  const graph: Graph = new Map();
  for (const file of filesUnder(dir).filter((f) => f.endsWith(".ts"))) {
    addNode(graph, relative(base, file));
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const target = resolve(dirname(file), fileName);
      const found = [target, `${target}.ts`, join(target, "index.ts")].find((t) => isFile(t));
      if (found) addEdge(graph, relative(base, file), relative(base, found));
    }
  }
  return graph;
}

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

/**
 * Every circle, as "a → b → a" with the symbols of each C edge: for each
 * file, the shortest way back to itself, each circle listed once whichever
 * file it was found from.
 */
function circles(graph: Graph): string[] {
  const found = new Map<string, string>();
  for (const start of [...graph.keys()].sort()) {
    const cameFrom = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    while (queue.length && last === undefined) {
      const at = queue.shift()!;
      for (const next of [...graph.get(at)!.keys()].sort()) {
        if (next === start) {
          last = at;
          break;
        }
        if (!cameFrom.has(next)) cameFrom.set(next, at), queue.push(next);
      }
    }
    if (last === undefined) continue;
    const path = [last];
    while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
    const lowest = path.indexOf([...path].sort()[0]!);
    const loop = [...path.slice(lowest), ...path.slice(0, lowest)];
    const key = loop.join(" ");
    if (found.has(key)) continue;
    const steps = loop.map((f, i) => {
      const to = loop[(i + 1) % loop.length]!;
      const whys = graph.get(f)!.get(to)!;
      return `${f} → ${to}${whys.length ? ` (${[...new Set(whys)].sort().join(", ")})` : ""}`;
    });
    found.set(key, steps.join("; "));
  }
  return [...found.values()];
}

function tooLong(dir: string, base: string): string[] {
  return filesUnder(dir)
    .map((f) => ({ f, lines: readFileSync(f, "utf8").split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ f, lines }) => `${relative(base, f)}: ${lines} lines`);
}

const libFlagsAll = [...commonFlags, ...libFlags, "-DCKPT_LIB"];
const stubFlagsAll = [...commonFlags, ...stubFlags, "-DCKPT_STUB"];

test("the checks see a planted circle: C on both sides, TypeScript, an overlong file", async () => {
  const plant = join(tmp, "plant");
  mkdirSync(join(plant, "src", "a"), { recursive: true });
  writeFileSync(join(plant, "ping.c"), "void pong(int n);\nvoid ping(int n) { if (n) pong(n - 1); }\n");
  writeFileSync(join(plant, "pong.c"), "void ping(int n);\nvoid pong(int n) { if (n) ping(n - 1); }\n");
  writeFileSync(join(plant, "lone.c"), "void ping(int n);\nvoid lone(void) { ping(1); }\n");
  for (const [side, flags] of [["plant-lib", libFlagsAll], ["plant-stub", stubFlagsAll]] as const) {
    const g = await cGraph(side, ["ping.c", "pong.c", "lone.c"].map((f) => join(plant, f)), flags, plant);
    expect(circles(g)).toEqual(["ping.c → pong.c (pong); pong.c → ping.c (ping)"]);
  }
  writeFileSync(join(plant, "src", "a", "one.ts"), 'import { two } from "../two.ts";\nexport const one = () => two;\n');
  writeFileSync(join(plant, "src", "two.ts"), 'export const two = () => import("./a/one");\n');
  writeFileSync(join(plant, "src", "long.ts"), "//\n".repeat(MAX_LINES + 1));
  expect(circles(tsGraph(join(plant, "src"), plant))).toEqual(["src/a/one.ts → src/two.ts; src/two.ts → src/a/one.ts"]);
  expect(tooLong(join(plant, "src"), plant)).toEqual([`src/long.ts: ${MAX_LINES + 1} lines`]);
});

test("no circle among the C files of libckpt.so", async () => {
  expect(circles(await cGraph("lib", libSources(), libFlagsAll, root))).toEqual([]);
}, 120_000);

test("no circle among the C files of the restore stub", async () => {
  expect(circles(await cGraph("stub", stubSources(), stubFlagsAll, root))).toEqual([]);
}, 120_000);

test("no circle among the TypeScript modules of src/", () => {
  expect(circles(tsGraph(join(root, "src"), root))).toEqual([]);
});

test(`no source file in c/ or src/ is over ${MAX_LINES} lines`, () => {
  expect([...tooLong(join(root, "c"), root), ...tooLong(join(root, "src"), root)]).toEqual([]);
});
