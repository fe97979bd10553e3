/**
 * Every repository path a doc or a comment names exists. Files move (into
 * c/kinds/, out of demos/), and a comment that sends the reader to a file
 * that is gone costs more than no comment.
 *
 * Where names are looked for: the whole text of *.md files (the root and
 * docs/); the comments of c/, src/, scripts/, test/ and bench/ sources
 * (C, assembly and TypeScript: block and line comments).
 *
 * What counts as a name, two simple rules:
 *   - a path from the top: c/…, src/…, docs/…, test/…, demos/…, scripts/…,
 *     bench/… (not inside a longer path such as build/demos/ticker). It
 *     must exist as a file or a directory. At a placeholder (`*`, `<name>`,
 *     `{a,b}`) only the directory before it must exist.
 *   - a bare file name ending .c, .h, .S or .ts (handler.c, status.ts): some
 *     file of that name must exist somewhere in the tree. A system header
 *     written as <signal.h> is not ours and is not looked for.
 * A path .gitignore names (bench/results.json) is something a script
 * writes: it counts as existing.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

const TOP_DIRS = ["c", "src", "docs", "test", "demos", "scripts", "bench"];
const SKIP_DIRS = new Set(["node_modules", "build", "dist", ".git"]);

/** Every file under `dir`, relative to the root. */
function walk(dir: string): string[] {
	const out: string[] = [];
	for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
		if (SKIP_DIRS.has(entry.name)) continue;
		const path = dir ? `${dir}/${entry.name}` : entry.name;
		if (entry.isDirectory()) out.push(...walk(path));
		else out.push(path);
	}
	return out;
}

const files = walk("");
const written = readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n").filter((l) => l.includes("/") && !/[*?[]/.test(l));
const baseNames = new Set(files.map((f) => f.slice(f.lastIndexOf("/") + 1)));

/** The comments of a C, assembly or TypeScript source, one string. */
function comments(text: string): string {
	const found = [...text.matchAll(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g)].map((m) => m[0]);
	return found.join("\n");
}

const docs = files.filter((f) => f.endsWith(".md"));
const sources = files.filter((f) => TOP_DIRS.includes(f.split("/")[0]!) && /\.(c|h|S|ts)$/.test(f));

const TOP_PATH = new RegExp(`(?<![\\w./-])(?:${TOP_DIRS.join("|")})/[\\w./-]*`, "g");
const BARE_NAME = /(?<![\w./<-])[\w-]+\.(?:c|h|S|ts)\b(?![\w/-])/g;

/** The names in `text` that lead nowhere. */
function missing(text: string): string[] {
	const out: string[] = [];
	for (const m of text.matchAll(TOP_PATH)) {
		let path = m[0].replace(/[./-]+$/, "");
		const next = text[m.index! + m[0].length];
		if (next === "*" || next === "<" || next === "{") path = path.slice(0, path.lastIndexOf("/") + 1);
		if (!existsSync(join(ROOT, path)) && !written.includes(path)) out.push(m[0]);
	}
	for (const m of text.matchAll(BARE_NAME))
		if (!baseNames.has(m[0])) out.push(m[0]);
	return out;
}

test("the scan finds the files it is about", () => {
	expect(docs).toContain("ARCHITECTURE.md");
	expect(sources).toContain("c/lib/handler.c");
	expect(sources).toContain("src/cli.ts");
});

test("the rules catch a name that leads nowhere, and pass one that exists", () => {
	const text = "c/lib/nowhere.c, resume.S, c/kinds/*.c, test/e2e/<name>.test.ts, src/cli.ts, (demos/ticker.c). handler.c, <signal.h>, build/demos/x";
	expect(missing(text)).toEqual(["c/lib/nowhere.c", "resume.S"]);
});

test.each(docs)("every path %s names exists", (doc) => {
	expect(missing(readFileSync(join(ROOT, doc), "utf8"))).toEqual([]);
});

test("every path a source comment names exists", () => {
	const bad: string[] = [];
	for (const file of sources)
		for (const name of missing(comments(readFileSync(join(ROOT, file), "utf8")))) bad.push(`${file}: ${name}`);
	expect(bad).toEqual([]);
});

