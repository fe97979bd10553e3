import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEADER } from "../../src/image/format.ts";
import { hasImageMagic, listImages, programLine } from "../../src/image/list.ts";
import { readImage } from "../../src/image/read.ts";
import { imageChoices } from "../../src/interactive/choices.ts";
import { buildImage, defaultSpec, poke } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-list-"));
const STUB = join(import.meta.dir, "../../build/ckpt-restore"); // judges each image
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const older = buildImage(); // created_ns 1700000000 s
const newerSpec = defaultSpec();
newerSpec.argv = ["/opt/sim/bin/simulate", "--steps", "1000", "a b"];
const newer = poke(buildImage(newerSpec), HEADER, 0, "created_ns", 1_800_000_000_000_000_000n);
writeFileSync(join(dir, "old.dat"), older);
writeFileSync(join(dir, "new.dat"), newer);
const corrupt = buildImage();
corrupt[HEADER.fields.hostname.off]! ^= 1;
writeFileSync(join(dir, "corrupt.dat"), corrupt);
writeFileSync(join(dir, "short.dat"), older.slice(0, 100));
writeFileSync(join(dir, "notes.txt"), "CKPTIMG is not at the start");
writeFileSync(join(dir, "tiny"), "CK");
mkdirSync(join(dir, "subdir"));
symlinkSync(join(dir, "old.dat"), join(dir, "link.dat"));
symlinkSync(join(dir, "missing"), join(dir, "dangling.dat"));
Bun.spawnSync(["mkfifo", join(dir, "fifo")]);
utimesSync(join(dir, "short.dat"), 1_750_000_000, 1_750_000_000);

test("finds images by their magic, newest first, broken ones with their reason", () => {
	const found = listImages(dir, STUB);
	const byName = Object.fromEntries(found.map((f) => [f.name, f]));
	expect(Object.keys(byName).sort()).toEqual(["corrupt.dat", "link.dat", "new.dat", "old.dat", "short.dat"]);
	expect(found[0]!.name).toBe("new.dat");
	expect(byName["corrupt.dat"]!.error).toBe("header checksum mismatch (corrupt image)");
	expect(byName["short.dat"]!.error).toMatch(/^truncated \(header says \d+ bytes, file has 100\)$/);
	expect(byName["short.dat"]!.timeMs).toBe(1_750_000_000_000); // no creation time: its mtime
	expect(byName["old.dat"]!.timeMs).toBe(1_700_000_000_000);
	expect(byName["old.dat"]!.size).toBe(older.length);
	// Newest first throughout: new (2027), short (mtime 2025), then the 2023 ones.
	const times = found.map((f) => f.timeMs);
	expect([...times].sort((a, b) => b - a)).toEqual(times);
});

test("hasImageMagic never blocks on a FIFO and rejects directories and short files", () => {
	expect(hasImageMagic(join(dir, "fifo"))).toBe(false);
	expect(hasImageMagic(join(dir, "subdir"))).toBe(false);
	expect(hasImageMagic(join(dir, "tiny"))).toBe(false);
	expect(hasImageMagic(join(dir, "nope"))).toBe(false);
	expect(hasImageMagic(join(dir, "link.dat"))).toBe(true);
});

test("an unreadable directory is one ImageError", () => {
	expect(() => listImages(join(dir, "nope"), STUB)).toThrow(/nope: no such directory$/);
	expect(() => listImages(join(dir, "tiny"), STUB)).toThrow(/tiny: not a directory$/);
});

test("the program line: name from argv[0], arguments quoted, long ones cut", () => {
	const image = readImage(join(dir, "new.dat"));
	expect(programLine(image)).toBe("simulate --steps 1000 'a b'");
	expect(programLine(image, 12)).toBe("simulate --…");
});

test("the interactive image list: aligned columns, unusable images shown but not selectable", () => {
	const now = 1_800_000_000_000 + 3 * 3600_000;
	const choices = imageChoices(listImages(dir, STUB), now);
	expect(choices[0]).toEqual({ value: join(dir, "new.dat"), label: expect.stringMatching(/^new\.dat +simulate --steps 1000 'a b' +3 hours ago +\d+\.\d KiB$/) });
	const corrupt = choices.find((c) => c.value.endsWith("corrupt.dat"))!;
	expect(corrupt).toMatchObject({ disabled: true, hint: "header checksum mismatch (corrupt image)" });
	expect(corrupt.label).toMatch(/^corrupt\.dat +\(unusable\)/);
	expect(new Set(choices.map((c) => c.label.length)).size).toBe(1); // sizes right-aligned, last
});
