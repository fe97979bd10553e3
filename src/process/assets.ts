/**
 * The helper files compiled into the ckpt executable: libckpt.so (the
 * preloaded library that takes checkpoints), libckpt-musl.so (the same
 * built against musl, for programs whose loader is musl's) and
 * ckpt-restore (the static stub that rebuilds a process from an image).
 * This is the only module that imports them; `bun build --compile` embeds
 * each and turns the import into a /$bunfs/... path that only this process
 * can read, so cache.ts copies them out to real files.
 *
 * A build machine without musl-gcc embeds an empty libckpt-musl.so: such a
 * ckpt refuses musl programs at launch (run.ts), and leaves the file out of
 * the cache and of its hash.
 */
import libPath from "../../build/libckpt.so" with { type: "file" };
import muslLibPath from "../../build/libckpt-musl.so" with { type: "file" };
import stubPath from "../../build/ckpt-restore" with { type: "file" };
import { type AssetSource, assetSource, ensureAssets } from "./cache.ts";
import { CKPT_LIB_FILE, CKPT_LIB_MUSL_FILE, CKPT_STUB_FILE } from "../protocol/protocol.ts";
import type { Libc } from "./elf.ts";

/**
 * Each embedded file's size and sha256, computed by scripts/build.ts and
 * defined at compile time: a start checks its cached copies against them
 * and never reads the embedded bytes unless it must write a copy. Undefined
 * when running from source (tests), where they are computed.
 */
declare const CKPT_ASSET_DIGESTS: Record<string, { size: number; digest: string }> | undefined;

export const LIB_NAME = CKPT_LIB_FILE;
export const MUSL_LIB_NAME = CKPT_LIB_MUSL_FILE;
export const STUB_NAME = CKPT_STUB_FILE;
type AssetName = typeof LIB_NAME | typeof MUSL_LIB_NAME | typeof STUB_NAME;

const EMBEDDED: Record<AssetName, { path: string; mode: number }> = {
	[LIB_NAME]: { path: libPath, mode: 0o644 },
	[MUSL_LIB_NAME]: { path: muslLibPath, mode: 0o644 },
	[STUB_NAME]: { path: stubPath, mode: 0o755 },
};

/** Whether this build has the musl library (its size alone, not its bytes, is read). */
export function hasMuslLib(): boolean {
	return Bun.file(EMBEDDED[MUSL_LIB_NAME].path).size > 0;
}

/** Every embedded file this build has. */
function allNames(): AssetName[] {
	return hasMuslLib() ? [LIB_NAME, MUSL_LIB_NAME, STUB_NAME] : [LIB_NAME, STUB_NAME];
}

/**
 * The embedded files `names` (default: every one this build has), as
 * cache.ts sources. Bun.file, not node:fs, whose first load costs about a
 * millisecond.
 */
export async function embeddedAssets(names: AssetName[] = allNames()): Promise<AssetSource[]> {
	if (typeof CKPT_ASSET_DIGESTS === "object") {
		const built = CKPT_ASSET_DIGESTS;
		return names.map((name) => ({ name, mode: EMBEDDED[name].mode, ...built[name]!, bytes: () => Bun.file(EMBEDDED[name].path).bytes() }));
	}
	return Promise.all(names.map(async (name) => assetSource(name, await Bun.file(EMBEDDED[name].path).bytes(), EMBEDDED[name].mode)));
}

/** The absolute paths of helper files `names`, extracted together and freshly verified. */
async function extractAssets(names: AssetName[]): Promise<Record<string, string>> {
	// The directory is named by every embedded file; only `names` are checked and written.
	return ensureAssets(await embeddedAssets(), undefined, names);
}

/** The absolute path of one extracted, freshly verified helper file. */
export async function extractAsset(name: AssetName): Promise<string> {
	return (await extractAssets([name]))[name]!;
}

/**
 * The library to preload into a program whose loader is `libc`'s. Both
 * builds are extracted, side by side, when this ckpt has both: an exec in
 * place may switch libc (`env` is glibc's, the program musl's), and
 * libckpt then hands on the other build from the same directory
 * (c/lib/exec.c). Null: a musl program, and this build has no musl library.
 */
export async function extractLibFor(libc: Libc): Promise<string | null> {
	if (!hasMuslLib()) return libc === "glibc" ? extractAsset(LIB_NAME) : null;
	const paths = await extractAssets([LIB_NAME, MUSL_LIB_NAME]);
	return paths[libc === "musl" ? MUSL_LIB_NAME : LIB_NAME]!;
}
