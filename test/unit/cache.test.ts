import { afterAll, expect, test } from "bun:test";
import {
	chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AssetSource, assetSource, assetsHash, cacheRootCandidates, ensureAssets } from "../../src/process/cache.ts";
import { RuntimeError } from "../../src/cli/errors.ts";

const base = mkdtempSync(join(tmpdir(), "ckpt-cache-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const bytes = (text: string) => new TextEncoder().encode(text);
const sources: AssetSource[] = [assetSource("libckpt.so", bytes("library bytes"), 0o644), assetSource("ckpt-restore", bytes("stub bytes"), 0o755)];

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
	const changed = [sources[0]!, assetSource("ckpt-restore", bytes("stub bytes!"), 0o755)];
	expect(assetsHash(changed)).not.toBe(h);
	// Moving bytes from one file to the other changes the hash too.
	const shifted = [assetSource("libckpt.so", bytes("library bytesstub"), 0o644), assetSource("ckpt-restore", bytes(" bytes"), 0o755)];
	expect(assetsHash(shifted)).not.toBe(h);
});

test("extracts files with their modes into private directories", async () => {
	const root = freshRoot();
	const paths = await ensureAssets(sources, [root]);
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

test("a tampered, missing, re-moded or replaced file is rewritten before use", async () => {
	const root = freshRoot();
	const paths = await ensureAssets(sources, [root]);
	const lib = paths["libckpt.so"]!;
	const stub = paths["ckpt-restore"]!;

	writeFileSync(lib, "evil bytes!!!"); // same length, different content
	await ensureAssets(sources, [root]);
	expect(readFileSync(lib, "utf8")).toBe("library bytes");

	rmSync(stub);
	await ensureAssets(sources, [root]);
	expect(readFileSync(stub, "utf8")).toBe("stub bytes");

	chmodSync(stub, 0o777);
	await ensureAssets(sources, [root]);
	expect(statSync(stub).mode & 0o7777).toBe(0o755);

	rmSync(lib);
	writeFileSync(join(base, "elsewhere"), "library bytes");
	symlinkSync(join(base, "elsewhere"), lib);
	await ensureAssets(sources, [root]);
	expect(readFileSync(lib, "utf8")).toBe("library bytes");
	expect(existsSync(join(base, "elsewhere"))).toBe(true);
	expect(statSync(lib).isFile()).toBe(true);
});

test("embedded bytes that do not match the digest the build recorded are never written", async () => {
	const root = freshRoot();
	const damaged = { ...sources[1]!, bytes: () => bytes("stub bytez") };
	await expect(ensureAssets([sources[0]!, damaged], [root], ["ckpt-restore"])).rejects.toThrow(/embedded ckpt-restore is damaged/);
	expect(readdirSync(join(root, assetsHash(sources)))).toEqual([]);
});

test("only the files a command wants are checked and written, in the directory of the whole set", async () => {
	const root = freshRoot();
	const paths = await ensureAssets(sources, [root], ["ckpt-restore"]);
	const dir = join(root, assetsHash(sources));
	expect(paths).toEqual({ "ckpt-restore": join(dir, "ckpt-restore") });
	expect(readdirSync(dir)).toEqual(["ckpt-restore"]);
	writeFileSync(paths["ckpt-restore"]!, "stub bytez");
	await ensureAssets(sources, [root], ["libckpt.so"]);
	expect(readFileSync(paths["ckpt-restore"]!, "utf8")).toBe("stub bytez"); // not wanted: untouched
	await ensureAssets(sources, [root], ["ckpt-restore"]);
	expect(readFileSync(paths["ckpt-restore"]!, "utf8")).toBe("stub bytes");
});

test("a directory others can access is refused, not used", async () => {
	const root = freshRoot();
	mkdirSync(root, { recursive: true, mode: 0o755 });
	chmodSync(root, 0o755);
	await expect(ensureAssets(sources, [root])).rejects.toThrow(RuntimeError);
	await expect(ensureAssets(sources, [root])).rejects.toThrow(/accessible by group or others; run: chmod 700/);
});

test("a symlink in place of our directory is refused", async () => {
	const root = freshRoot();
	mkdirSync(join(root, ".."), { recursive: true });
	const target = join(base, "target");
	mkdirSync(target, { mode: 0o700 });
	symlinkSync(target, root);
	await expect(ensureAssets(sources, [root])).rejects.toThrow(/is not a directory/);
});

test("an unusable root falls back to the next", async () => {
	writeFileSync(join(base, "a-file"), "");
	const good = freshRoot();
	const paths = await ensureAssets(sources, [join(base, "a-file", "ckpt"), good]);
	expect(paths["libckpt.so"]!.startsWith(good)).toBe(true);
	await expect(ensureAssets(sources, [join(base, "a-file", "ckpt")])).rejects.toThrow(/no usable cache directory/);
});
