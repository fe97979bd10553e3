import { expect, test } from "bun:test";
import { dirname, resolve } from "node:path";
import { parentDir, resolvePath } from "../../src/process/paths.ts";

const bases = ["/", "/home/a", "/home/a/", "/x/./y/../z", "//double//slash"];
const segments = ["", ".", "..", "../..", "../../../..", "b", "b/", "b/./c", "./b/../c", "/abs", "/abs/../x", "a//b", "...", ".hidden", "a/.."];

test("resolvePath agrees with node:path.resolve on every base and pair of segments", () => {
	let compared = 0;
	for (const base of bases)
		for (const a of segments) {
			expect(resolvePath(base, a)).toBe(resolve(base, a));
			for (const b of segments) {
				expect(resolvePath(base, a, b)).toBe(resolve(base, a, b));
				compared++;
			}
		}
	expect(compared).toBe(bases.length * segments.length ** 2);
});

test("parentDir agrees with node:path.dirname on normalised absolute paths", () => {
	for (const p of ["/", "/a", "/a/b", "/a/b/c.dat", "/.x", "/a/..b"]) expect(parentDir(p)).toBe(dirname(p));
});
