/**
 * Keeps src/image/format.ts an exact mirror of c/ckpt_format.h: compiles a small C
 * program that prints offsetof/sizeof of every field of every struct and the
 * value of every constant, and compares them with the TypeScript tables.
 * The member and constant names are taken from the header text itself, so a
 * field added in C without its TypeScript twin fails here too.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { runCProgram } from "./c-program.ts";
import { FORMAT_HEADER as HEADER_PATH, formatHeaderText } from "./format-header-text.ts";
import { ALL_LAYOUTS, C_CONSTANTS, CKPT_MAGIC, type Layout } from "../../src/image/format.ts";

const source = formatHeaderText()
	.replace(/\/\*[\s\S]*?\*\//g, " ")
	.replace(/\/\/.*$/gm, "");

/** struct name -> top-level member names, in declaration order. */
function cStructs(): Map<string, string[]> {
	const out = new Map<string, string[]>();
	for (const m of source.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}\s*;/g)) {
		const names: string[] = [];
		for (const decl of m[2]!.split(";").map((d) => d.trim()).filter(Boolean)) {
			const rest = decl.match(/^(?:struct\s+\w+|\w+)\s+([\s\S]*)$/)![1]!;
			for (const d of rest.split(",")) names.push(d.trim().match(/^(\w+)/)![1]!);
		}
		out.set(m[1]!, names);
	}
	return out;
}

/** Every numeric #define and enum member (not the include guard or the magic string). */
function cConstants(): string[] {
	const names = [...source.matchAll(/^#define[ \t]+(\w+)[ \t]+\S/gm)].map((m) => m[1]!);
	for (const m of source.matchAll(/enum\s+\w+\s*\{([^}]*)\}/g))
		for (const item of m[1]!.split(",")) {
			const name = item.trim().match(/^(\w+)/)?.[1];
			if (name) names.push(name);
		}
	return names.filter((n) => n !== "CKPT_MAGIC");
}

function cProgram(): string {
	const lines = [
		"#include <stdio.h>",
		"#include <stddef.h>",
		`#include "${HEADER_PATH}"`,
		"int main(void) {",
		'\tfor (int i = 0; i < 8; i++) printf("%02x", (unsigned char)CKPT_MAGIC[i]);',
		'\tprintf(" magic\\n");',
	];
	for (const l of ALL_LAYOUTS) {
		lines.push(`\tprintf("struct ${l.cName} %zu\\n", sizeof(struct ${l.cName}));`);
		for (const name of Object.keys(l.fields)) {
			const m = `((struct ${l.cName} *)0)->${name}`;
			lines.push(`\tprintf("field ${l.cName}.${name} %zu %zu\\n", offsetof(struct ${l.cName}, ${name}), sizeof(${m}));`);
		}
	}
	for (const name of Object.keys(C_CONSTANTS))
		lines.push(`\tprintf("const ${name} %llu\\n", (unsigned long long)(${name}));`);
	lines.push("\treturn 0;", "}");
	return lines.join("\n");
}

const printed = new Map<string, string>();

beforeAll(() => {
	for (const line of runCProgram(cProgram())) {
		const words = line.split(" ");
		if (words[1] === "magic") printed.set("magic", words[0]!);
		else printed.set(`${words[0]} ${words[1]}`, words.slice(2).join(" "));
	}
});

test("every C struct is mirrored with the same members", () => {
	const c = cStructs();
	const ts = new Map(ALL_LAYOUTS.map((l) => [l.cName, Object.keys(l.fields)]));
	expect([...ts.keys()].sort()).toEqual([...c.keys()].sort());
	for (const [name, members] of c) expect(ts.get(name)).toEqual(members);
});

test("every C constant is mirrored with the same value", () => {
	expect(Object.keys(C_CONSTANTS).sort()).toEqual(cConstants().sort());
	for (const [name, value] of Object.entries(C_CONSTANTS))
		expect(`${name} = ${printed.get(`const ${name}`)}`).toBe(`${name} = ${BigInt(value)}`);
	expect(printed.get("magic")).toBe(Buffer.from(CKPT_MAGIC, "latin1").toString("hex"));
});

describe.each(ALL_LAYOUTS.map((l) => [l.cName, l] as [string, Layout<string>]))("struct %s", (_, l) => {
	test("size matches sizeof", () => {
		expect(Number(printed.get(`struct ${l.cName}`))).toBe(l.size);
	});

	test("every field's offset and size match offsetof/sizeof", () => {
		for (const [name, f] of Object.entries(l.fields))
			expect(`${name} ${printed.get(`field ${l.cName}.${name}`)}`).toBe(`${name} ${f.off} ${f.size}`);
	});

	test("fields tile the struct with no implicit padding", () => {
		let at = 0;
		for (const [name, f] of Object.entries(l.fields).sort((a, b) => a[1].off - b[1].off)) {
			expect(`${name} at ${f.off}`).toBe(`${name} at ${at}`);
			at += f.size;
		}
		expect(at).toBe(l.size);
	});

	test("nested struct members use the mirrored struct's size", () => {
		for (const f of Object.values(l.fields))
			if (typeof f.type !== "string") expect(f.size).toBe(f.type.size * f.count);
	});
});
