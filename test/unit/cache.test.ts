import { afterAll, expect, test } from "bun:test";
import {
	chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AssetSource, assetsHash, cacheRootCandidates, ensureAssets } from "../../src/process/cache.ts";
import { RuntimeError } from "../../src/cli/errors.ts";

const base = mkdtempSync(join(tmpdir(), "ckpt-cache-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const sources: AssetSource[] = [
	{ name: "libckpt.so", bytes: new TextEncoder().encode("library bytes"), mode: 0o644 },
	{ name: "ckpt-restore", bytes: new TextEncoder().encode("stub bytes"), mode: 0o755 },
];

let n = 0;
const freshRoot = () => join(base, `root${n++}`, "ckpt");

test("cache root candidates, best first", () => {
	expect(cacheRootCandidates({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/a" }, 1000))
		.toEqual(["/x/cache/ckpt", "/home/a/.cache/ckpt", "/tmp/ckpt-1000"]);
	expect(cacheRootCandidates({ XDG_CACHE_HOME: "relative", HOME: "/home/a" }, 5)).toEqual(["/home/a/.cache/ckpt", "/tmp/ckpt-5"]);
	expect(cacheRootCandidates({}, 0)).toEqual(["/tmp/ckpt-0"]);
});

test("the hash names the contents", () => {
	const h = assetsHash(sources);
	expect(h).toMatch(/^[0-9a-f]{16}$/);
	expect(assetsHash(sources)).toBe(h);
	const changed = [sources[0]!, { ...sources[1]!, bytes: new TextEncoder().encode("stub bytes!") }];
	expect(assetsHash(changed)).not.toBe(h);
	// Moving bytes from one file to the other changes the hash too.
	const shifted = [{ ...sources[0]!, bytes: new TextEncoder().encode("library bytesstub") }, { ...sources[1]!, bytes: new TextEncoder().encode(" bytes") }];
	expect(assetsHash(shifted)).not.toBe(h);
});

test("extracts files with their modes into private directories", () => {
	const root = freshRoot();
	const paths = ensureAssets(sources, [root]);
	const dir = join(root, assetsHash(sources));
	expect(paths).toEqual({ "libckpt.so": join(dir, "libckpt.so"), "ckpt-restore": join(dir, "ckpt-restore") });
	expect(statSync(root).mode & 0o777).toBe(0o700);
	expect(statSync(join(root, "..")).mode & 0o777).toBe(0o700); // created parents too
	expect(statSync(dir).mode & 0o777).toBe(0o700);
	expect(statSync(paths["libckpt.so"]!).mode & 0o7777).toBe(0o644);
	expect(statSync(paths["ckpt-restore"]!).mode & 0o7777).toBe(0o755);
	expect(readFileSync(paths["ckpt-restore"]!, "utf8")).toBe("stub bytes");
	expect(readdirSync(dir).sort()).toEqual(["ckpt-restore", "libckpt.so"]); // no temp files left
});

test("a tampered, missing, re-moded or replaced file is rewritten before use", () => {
	const root = freshRoot();
	const paths = ensureAssets(sources, [root]);
	const lib = paths["libckpt.so"]!;
	const stub = paths["ckpt-restore"]!;

	writeFileSync(lib, "evil bytes!!!"); // same length, different content
	ensureAssets(sources, [root]);
	expect(readFileSync(lib, "utf8")).toBe("library bytes");

	rmSync(stub);
	ensureAssets(sources, [root]);
	expect(readFileSync(stub, "utf8")).toBe("stub bytes");

	chmodSync(stub, 0o777);
	ensureAssets(sources, [root]);
	expect(statSync(stub).mode & 0o7777).toBe(0o755);

	rmSync(lib);
	writeFileSync(join(base, "elsewhere"), "library bytes");
	symlinkSync(join(base, "elsewhere"), lib);
	ensureAssets(sources, [root]);
	expect(readFileSync(lib, "utf8")).toBe("library bytes");
	expect(existsSync(join(base, "elsewhere"))).toBe(true);
	expect(statSync(lib).isFile()).toBe(true);
});

test("only the files a command wants are checked and written, in the directory of the whole set", () => {
	const root = freshRoot();
	const paths = ensureAssets(sources, [root], ["ckpt-restore"]);
	const dir = join(root, assetsHash(sources));
	expect(paths).toEqual({ "ckpt-restore": join(dir, "ckpt-restore") });
	expect(readdirSync(dir)).toEqual(["ckpt-restore"]);
	writeFileSync(paths["ckpt-restore"]!, "stub bytez");
	ensureAssets(sources, [root], ["libckpt.so"]);
	expect(readFileSync(paths["ckpt-restore"]!, "utf8")).toBe("stub bytez"); // not wanted: untouched
	ensureAssets(sources, [root], ["ckpt-restore"]);
	expect(readFileSync(paths["ckpt-restore"]!, "utf8")).toBe("stub bytes");
});

test("a directory others can access is refused, not used", () => {
	const root = freshRoot();
	mkdirSync(root, { recursive: true, mode: 0o755 });
	chmodSync(root, 0o755);
	expect(() => ensureAssets(sources, [root])).toThrow(RuntimeError);
	expect(() => ensureAssets(sources, [root])).toThrow(/accessible by group or others; run: chmod 700/);
});

test("a symlink in place of our directory is refused", () => {
	const root = freshRoot();
	mkdirSync(join(root, ".."), { recursive: true });
	const target = join(base, "target");
	mkdirSync(target, { mode: 0o700 });
	symlinkSync(target, root);
	expect(() => ensureAssets(sources, [root])).toThrow(/is not a directory/);
});

test("an unusable root falls back to the next", () => {
	writeFileSync(join(base, "a-file"), "");
	const good = freshRoot();
	const paths = ensureAssets(sources, [join(base, "a-file", "ckpt"), good]);
	expect(paths["libckpt.so"]!.startsWith(good)).toBe(true);
	expect(() => ensureAssets(sources, [join(base, "a-file", "ckpt")])).toThrow(/no usable cache directory/);
});
