/**
 * Keeps src/protocol/protocol.ts an exact mirror of c/ckpt_protocol.h:
 * compiles a small C program that prints every #define of the header (a
 * string as hex bytes, a number in decimal) and compares them with the
 * TypeScript constants. The names are taken from the header text itself,
 * so a definition added in C without its TypeScript twin fails here too;
 * a string mirrored as a number (or the reverse) fails to compile.
 */
import { beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { runCProgram } from "./c-program.ts";
import { PROTOCOL_CONSTANTS } from "../../src/protocol/protocol.ts";

const HEADER_PATH = resolve(import.meta.dir, "../../c/ckpt_protocol.h");
const source = readFileSync(HEADER_PATH, "utf8").replace(/\/\*[\s\S]*?\*\//g, " ");

/** Every #define with a value (not the include guard). */
const cNames = [...source.matchAll(/^#define[ \t]+(\w+)[ \t]+\S/gm)].map((m) => m[1]!);

function cProgram(): string {
	const lines = [
		"#include <stdio.h>",
		`#include "${HEADER_PATH}"`,
		'static void text(const char *name, const char *v) { printf("%s ", name); while (*v) printf("%02x", (unsigned char)*v++); printf("\\n"); }',
		'static void number(const char *name, unsigned long long v) { printf("%s %llu\\n", name, v); }',
		"int main(void) {",
	];
	for (const [name, value] of Object.entries(PROTOCOL_CONSTANTS))
		lines.push(typeof value === "string" ? `\ttext("${name}", ${name});` : `\tnumber("${name}", ${name});`);
	lines.push("\treturn 0;", "}");
	return lines.join("\n");
}

/** What the C program prints for `value`. */
function expected(value: string | number): string {
	return typeof value === "string" ? Buffer.from(value, "latin1").toString("hex") : String(value);
}

const printed = new Map<string, string>();

beforeAll(() => {
	for (const line of runCProgram(cProgram())) {
		const [name, value = ""] = line.split(" ");
		printed.set(name!, value);
	}
});

test("the header is found and defines the protocol", () => {
	expect(cNames).toContain("CKPT_ENV_IMAGE");
	expect(cNames).toContain("CKPT_STATUS_LEN");
});

test("every C definition is mirrored, and nothing else", () => {
	expect(Object.keys(PROTOCOL_CONSTANTS).sort()).toEqual(cNames.sort());
});

test("every mirrored value is the C value", () => {
	for (const [name, value] of Object.entries(PROTOCOL_CONSTANTS))
		expect(`${name} = ${printed.get(name)}`).toBe(`${name} = ${expected(value)}`);
});

test("every launch variable carries the prefix libckpt's exec wrappers look for", () => {
	const prefix = String(PROTOCOL_CONSTANTS.CKPT_ENV_PREFIX);
	const vars = Object.entries(PROTOCOL_CONSTANTS).filter(([k]) => k.startsWith("CKPT_ENV_") && k !== "CKPT_ENV_PREFIX" && k !== "CKPT_ENV_FLAG_ON");
	expect(vars.length).toBe(13);
	for (const [name, value] of vars) expect(`${name} = ${value}`).toStartWith(`${name} = ${prefix}`);
});
