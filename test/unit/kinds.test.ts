/**
 * Keeps src/image/kinds.ts complete: every member of each kind enum and
 * flag set in c/ckpt_format.h (names taken from the header text, so a kind
 * added in C alone fails here) has exactly one row, the reader accepts
 * exactly the values the C range checks accept (1 to *_KIND_MAX), and
 * every name --json can print is documented in docs/info-json.md.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { C_CONSTANTS, CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_REGION_FILE_PRIVATE, FD } from "../../src/image/format.ts";
import { infoJson } from "../../src/image/json.ts";
import { EPOLL_EVENTS, EXTENT_KINDS, FD_KINDS, type Flag, type Kind, type KindTable, LOCK_KINDS, MEMBER_KINDS, REGION_FLAGS, REGION_KINDS, VM_FLAGS } from "../../src/image/kinds.ts";
import { ImageError, readImage } from "../../src/image/read.ts";
import { renderInfo } from "../../src/image/render.ts";
import { formatHeaderText } from "./format-header-text.ts";
import { buildImage, defaultSpec, poke, recordOffset } from "./image-builder.ts";

const ROOT = resolve(import.meta.dir, "../..");
const header = formatHeaderText().replace(/\/\*[\s\S]*?\*\//g, " ");
const docs = readFileSync(join(ROOT, "docs/info-json.md"), "utf8");

/** enum name -> its members' names, from the header text. */
const enums = new Map<string, string[]>();
for (const m of header.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}/g))
	enums.set(m[1]!, m[2]!.split(",").map((item) => item.trim().match(/^(\w+)/)?.[1]).filter((n): n is string => !!n));

const KIND_TABLES: Record<string, [KindTable<Kind>, string]> = {
	ckpt_region_kind: [REGION_KINDS, "CKPT_REGION_KIND_MAX"],
	ckpt_extent_kind: [EXTENT_KINDS, "CKPT_EXTENT_KIND_MAX"],
	ckpt_fd_kind: [FD_KINDS, "CKPT_FD_KIND_MAX"],
	ckpt_lock_kind: [LOCK_KINDS, "CKPT_LOCK_KIND_MAX"],
	ckpt_member_kind: [MEMBER_KINDS, "CKPT_MEMBER_KIND_MAX"],
};
const FLAG_SETS: Record<string, readonly Flag[]> = { ckpt_region_flags: REGION_FLAGS, ckpt_vm_flags: VM_FLAGS };

const valueOf = (cName: string) => Number(C_CONSTANTS[cName] ?? NaN);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

test("every kind enum of the image format has a table", () => {
	const kindEnums = [...enums.keys()].filter((e) => /_kind$/.test(e));
	expect(kindEnums.length).toBeGreaterThanOrEqual(4);
	for (const e of kindEnums) expect(Object.keys(KIND_TABLES)).toContain(e);
});

for (const [enumName, [table, maxName]] of Object.entries(KIND_TABLES)) {
	test(`${enumName}: one row per C member, values 1 to ${maxName}, names unique`, () => {
		const members = enums.get(enumName);
		expect(members).toBeDefined();
		const cValues = members!.map(valueOf);
		expect(cValues.every(Number.isInteger)).toBe(true); // each member is mirrored in format.ts
		expect(sorted(table.rows.map((r) => r.value))).toEqual(sorted(cValues));
		const max = valueOf(maxName);
		// Every value from 1 to max but those another branch is adding (fds 14, 15: sockets).
		const reserved = enumName === "ckpt_fd_kind" ? [14, 15] : [];
		expect(sorted(cValues)).toEqual(Array.from({ length: max }, (_, i) => i + 1).filter((v) => !reserved.includes(v) || cValues.includes(v)));
		// The reader's check is "has a row": the same values the C range checks accept.
		for (const v of [0, ...cValues, max + 1]) expect(table.of(v) !== undefined).toBe(v >= 1 && v <= max);
		expect(new Set(table.rows.map((r) => r.text)).size).toBe(table.rows.length);
		expect(new Set(table.rows.map((r) => r.json)).size).toBe(table.rows.length);
	});
}

for (const [enumName, flags] of Object.entries(FLAG_SETS)) {
	test(`${enumName}: one row per C member`, () => {
		const members = enums.get(enumName);
		expect(members).toBeDefined();
		expect(sorted(flags.map((f) => f.bit))).toEqual(sorted(members!.map(valueOf)));
	});
}

/** The cell of `field`'s row in the table of `section` of docs/info-json.md. */
function docCell(section: string, field: string): string {
	const body = docs.split(/^### /m).find((s) => s.startsWith(`\`${section}\``));
	const row = body?.split("\n").find((l) => l.startsWith(`| \`${field}\` |`));
	if (!row) throw new Error(`docs/info-json.md: no ${field} in ${section}`);
	return row;
}

test("every name --json prints for a kind or flag is in docs/info-json.md, where that field is described", () => {
	const expectNamed = (cell: string, names: string[]) => {
		for (const n of names) expect(cell).toContain(`\`${n}\``);
	};
	expectNamed(docCell("files[]", "kind"), FD_KINDS.rows.map((r) => r.json));
	expectNamed(docCell("files[]", "locks"), LOCK_KINDS.rows.map((r) => r.json));
	expectNamed(docCell("files[]", "watches"), EPOLL_EVENTS.map((e) => e.name!));
	expectNamed(docCell("regions[]", "kind"), REGION_KINDS.rows.map((r) => r.json));
	expectNamed(docCell("regions[]", "stored"), EXTENT_KINDS.rows.map((r) => r.json));
	expectNamed(docCell("regions[]", "extents"), EXTENT_KINDS.rows.map((r) => r.json));
	expectNamed(docCell("regions[]", "vmFlags"), VM_FLAGS.flatMap((f) => (f.name === null ? [] : [f.name])));
	expectNamed(docCell("tree", "processes"), MEMBER_KINDS.rows.map((r) => r.json));
});

const dir = mkdtempSync(join(tmpdir(), "ckpt-kinds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("an image with a descriptor of every kind reads, and info and --json name each from its row", () => {
	const spec = defaultSpec();
	spec.fds = FD_KINDS.rows.map((k, i) => ({ fd: i, kind: k.value, path: `/k/${k.json}` }));
	const p = join(dir, "fds.dat");
	writeFileSync(p, buildImage(spec));
	const image = readImage(p);
	const json = infoJson(image);
	expect(json.files.map((f) => f.kind)).toEqual(FD_KINDS.rows.map((k) => k.json));
	expect(json.files.map((f) => f.offset !== null)).toEqual(FD_KINDS.rows.map((k) => k.offset));
	const text = renderInfo(image, 0);
	for (const [i, k] of FD_KINDS.rows.entries()) expect(text).toMatch(new RegExp(`^ +${i}  ${k.text} +O_RDONLY`, "m"));
});

test("a value past the table is refused by the reader", () => {
	const img = buildImage();
	poke(img, FD, recordOffset(img, "fds", 1), "kind", FD_KINDS.rows.length + 1);
	const p = join(dir, "bad.dat");
	writeFileSync(p, img);
	expect(() => readImage(p)).toThrow(ImageError);
	expect(() => readImage(p)).toThrow(`unknown kind ${FD_KINDS.rows.length + 1}`);
});

test("file extents only in file regions, as the row says", () => {
	for (const k of REGION_KINDS.rows) {
		const spec = defaultSpec();
		// The first region becomes one of kind k; the stack the resume point needs stays.
		spec.regions[0] = { start: 0x400000n, kind: k.value, prot: 5, path: k.file ? "/bin/x" : undefined,
			extents: [{ pages: 1, kind: CKPT_EXTENT_FILE }, { pages: 1, kind: CKPT_EXTENT_DATA }] };
		const p = join(dir, `region-${k.value}.dat`);
		writeFileSync(p, buildImage(spec));
		if (k.file) expect(infoJson(readImage(p)).regions[0]!.kind).toBe(k.json);
		else expect(() => readImage(p)).toThrow("refers to a file in a non-file region");
	}
	expect(REGION_KINDS.of(CKPT_REGION_FILE_PRIVATE)!.file).toBe(true);
});
