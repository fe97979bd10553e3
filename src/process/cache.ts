/**
 * Extracting the embedded libckpt.so and restore stub to real files, since
 * the loader and execve need paths. They go to a per-user directory named by
 * a hash of their contents, so different ckpt versions never share files:
 *
 *   $XDG_CACHE_HOME/ckpt/<hash>/  else  $HOME/.cache/ckpt/<hash>/
 *   else (neither usable)  /tmp/ckpt-<uid>/<hash>/
 *
 * Our directories are mode 0700 and must be owned by us: anyone who could
 * write there could make every program run under ckpt load their code. Each
 * file is written to a temporary name, fsync'd, given its mode, then renamed
 * into place, so a crash never leaves a half-written library. Before every
 * use each file a command needs is hashed again and checked against the
 * sha256 of the embedded bytes; a missing, altered or wrongly-moded file is
 * rewritten, never used.
 *
 * Every start goes through here, so the file calls are file-calls.ts's, not
 * node:fs (see there).
 */
import { RuntimeError } from "../cli/errors.ts";
import {
	closeFd, isDirectory, isRegular, makeDirectory, openRead, preadInto, removeFile, renamePath,
	statPath, syncDirectory, writeNewFile,
} from "./file-calls.ts";
import { EEXIST, SysError } from "./libc.ts";
import { parentDir, resolvePath } from "./paths.ts";

export interface AssetSource {
	name: string; // file name inside the cache directory
	mode: number; // 0o755 for the stub, 0o644 for the library
	size: number;
	/** sha256 of the bytes, hex: what a cached copy must hash to. */
	digest: string;
	/** The bytes, read only when the file must be written. */
	bytes(): Uint8Array | Promise<Uint8Array>;
}

/**
 * A source for `bytes`, its digest computed here. Bun's native hasher, not
 * node:crypto: loading that module alone costs several milliseconds.
 */
export function assetSource(name: string, bytes: Uint8Array, mode: number): AssetSource {
	return { name, mode, size: bytes.length, digest: sha256(bytes), bytes: () => bytes };
}

function sha256(bytes: Uint8Array): string {
	return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** The cache subdirectory name: first 16 hex digits of a sha256 over every source's name, size and digest. */
export function assetsHash(sources: readonly Pick<AssetSource, "name" | "size" | "digest">[]): string {
	const h = new Bun.CryptoHasher("sha256");
	for (const s of sources) h.update(`${s.name}\0${s.size}\0${s.digest}\0`);
	return h.digest("hex").slice(0, 16);
}

/**
 * Where the `ckpt` cache directory may go, best first.
 *
 * @example cacheRootCandidates({ HOME: "/home/a" }, 1000) // ["/home/a/.cache/ckpt", "/tmp/ckpt-1000"]
 */
export function cacheRootCandidates(env: Record<string, string | undefined>, uid: number): string[] {
	const roots: string[] = [];
	// The XDG spec says relative values are invalid and must be ignored.
	if (env.XDG_CACHE_HOME?.startsWith("/")) roots.push(resolvePath(env.XDG_CACHE_HOME, "ckpt"));
	if (env.HOME?.startsWith("/")) roots.push(resolvePath(env.HOME, ".cache", "ckpt"));
	roots.push(`/tmp/ckpt-${uid}`);
	return roots;
}

/** A directory we cannot even create or write: try the next candidate. */
class Unusable extends Error {}

/**
 * Make sure the `wanted` sources (default: all) exist, intact, under
 * `<root>/<hash>/` and return name -> absolute path. The hash covers every
 * source, so a directory never mixes files of two builds; pass it when it
 * is known already (the build computes it for the embedded files). `roots` defaults
 * to cacheRootCandidates() of this process; the first usable one wins.
 * Throws RuntimeError if a directory is not private to us, or none is usable.
 */
export async function ensureAssets(
	sources: readonly AssetSource[],
	roots: readonly string[] = cacheRootCandidates(process.env, process.getuid!()),
	wanted: readonly string[] = sources.map((s) => s.name),
	hash: string = assetsHash(sources),
): Promise<Record<string, string>> {
	const tried: string[] = [];
	for (const root of roots) {
		try {
			const dir = resolvePath(root, hash);
			privateDir(root);
			privateDir(dir);
			const paths: Record<string, string> = {};
			for (const s of sources) if (wanted.includes(s.name)) paths[s.name] = await ensureFile(dir, s);
			return paths;
		} catch (e) {
			if (!(e instanceof Unusable)) throw e;
			tried.push(`${root}: ${e.message}`);
		}
	}
	throw new RuntimeError(`no usable cache directory for ckpt's helper files (${tried.join("; ")})`);
}

/** Create `dir` (and missing parents) as 0700, or check an existing one is private to us. */
function privateDir(dir: string): void {
	let st = statPath(dir, false);
	if (!st) {
		try {
			makeDirectories(dir);
		} catch (e) {
			throw new Unusable(errText(e));
		}
		st = statPath(dir, false);
		if (!st) throw new Unusable("vanished after mkdir");
	}
	if (!isDirectory(st)) throw new RuntimeError(`cache path ${dir} is not a directory (remove it)`);
	if (st.uid !== process.getuid!()) throw new RuntimeError(`cache directory ${dir} is owned by uid ${st.uid}, not by you; remove it`);
	if ((st.mode & 0o077) !== 0) throw new RuntimeError(`cache directory ${dir} is accessible by group or others; run: chmod 700 ${dir}`);
}

/** mkdir -p with mode 0700 for each directory made. */
function makeDirectories(dir: string): void {
	if (statPath(dir)) return;
	if (dir !== "/") makeDirectories(parentDir(dir));
	try {
		makeDirectory(dir, 0o700);
	} catch (e) {
		if (!(e instanceof SysError && e.errno === EEXIST)) throw e;
	}
}

/** `dir/name` with exactly `s.bytes` and `s.mode`, rewritten if it is anything else. */
async function ensureFile(dir: string, s: AssetSource): Promise<string> {
	const target = resolvePath(dir, s.name);
	if (isIntact(target, s)) return target;
	const bytes = await s.bytes();
	if (bytes.length !== s.size || sha256(bytes) !== s.digest) throw new RuntimeError(`ckpt's embedded ${s.name} is damaged (reinstall ckpt)`);
	const tmp = resolvePath(dir, `.${s.name}.${process.pid}.${crypto.getRandomValues(new Uint32Array(2)).join("")}.tmp`);
	try {
		writeNewFile(tmp, bytes, s.mode);
		renamePath(tmp, target);
		syncDirectory(dir);
	} catch (e) {
		removeFile(tmp);
		throw new Unusable(`cannot write ${target}: ${errText(e)}`);
	}
	if (!isIntact(target, s)) throw new RuntimeError(`${target} changed while being written`);
	return target;
}

function isIntact(path: string, s: AssetSource): boolean {
	const st = statPath(path, false);
	if (!st || !isRegular(st) || st.uid !== process.getuid!() || (st.mode & 0o7777) !== s.mode) return false;
	if (st.size !== s.size) return false;
	try {
		return fileDigest(path) === s.digest;
	} catch {
		return false;
	}
}

const READ_CHUNK = 64 << 10;

/**
 * sha256 of the file at `path`. Checked against the digest the build
 * recorded, a cached file is verified without reading the embedded copy,
 * which costs more than the hashing (1.6 ms for the stub, against 0.5);
 * one small buffer saves the page faults of a whole-file one. This runs on
 * every start.
 */
function fileDigest(path: string): string {
	const h = new Bun.CryptoHasher("sha256");
	const chunk = new Uint8Array(READ_CHUNK);
	const fd = openRead(path);
	try {
		for (let at = 0, n: number; (n = preadInto(fd, chunk, at)) > 0; at += n) h.update(chunk.subarray(0, n));
	} finally {
		closeFd(fd);
	}
	return h.digest("hex");
}

function errText(e: unknown): string {
	return e instanceof Error ? e.message : String(e);
}
