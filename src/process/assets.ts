/**
 * The two helper files compiled into the ckpt executable: libckpt.so (the
 * preloaded library that takes checkpoints) and ckpt-restore (the static
 * stub that rebuilds a process from an image). This is the only module that
 * imports them; `bun build --compile` embeds each and turns the import into
 * a /$bunfs/... path that only this process can read, so cache.ts copies
 * them out to real files.
 */
import libPath from "../../build/libckpt.so" with { type: "file" };
import stubPath from "../../build/ckpt-restore" with { type: "file" };
import { type AssetSource, assetsHash, ensureAssets } from "./cache.ts";
import { CKPT_LIB_FILE } from "../protocol/protocol.ts";

/**
 * assetsHash() of the embedded files, computed by scripts/build.ts and
 * defined at compile time: hashing 400 KB on every start costs more than
 * half a millisecond. Undefined when running from source (tests).
 */
declare const CKPT_ASSETS_HASH: string | undefined;

export const LIB_NAME = CKPT_LIB_FILE;
export const STUB_NAME = "ckpt-restore";
type AssetName = typeof LIB_NAME | typeof STUB_NAME;

const EMBEDDED: Record<AssetName, { path: string; mode: number }> = {
	[LIB_NAME]: { path: libPath, mode: 0o644 },
	[STUB_NAME]: { path: stubPath, mode: 0o755 },
};

/**
 * The embedded bytes of `names` (default: both), as cache.ts sources.
 * Bun.file, not node:fs, whose first load costs about a millisecond.
 */
export async function embeddedAssets(names: AssetName[] = [LIB_NAME, STUB_NAME]): Promise<AssetSource[]> {
	return Promise.all(names.map(async (name) => ({ name, mode: EMBEDDED[name].mode, bytes: await Bun.file(EMBEDDED[name].path).bytes() })));
}

/** The absolute path of one extracted, freshly verified helper file. */
export async function extractAsset(name: AssetName): Promise<string> {
	// From source the hash needs every embedded file; a build knows it and reads only `name`.
	const built = typeof CKPT_ASSETS_HASH === "string";
	const sources = await embeddedAssets(built ? [name] : undefined);
	return ensureAssets(sources, undefined, [name], built ? CKPT_ASSETS_HASH : assetsHash(sources))[name]!;
}
