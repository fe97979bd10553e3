/**
 * The two helper files compiled into the ckpt executable: libckpt.so (the
 * preloaded library that takes checkpoints) and ckpt-restore (the static
 * stub that rebuilds a process from an image). This is the only module that
 * imports them; `bun build --compile` embeds each and turns the import into
 * a /$bunfs/... path that only this process can read, so cache.ts copies
 * them out to real files.
 */
import libPath from "../build/libckpt.so" with { type: "file" };
import stubPath from "../build/ckpt-restore" with { type: "file" };
import { readFileSync } from "node:fs";
import { type AssetSource, ensureAssets } from "./cache.ts";

/**
 * assetsHash() of the embedded files, computed by scripts/build.ts and
 * defined at compile time: hashing 400 KB on every start costs more than
 * half a millisecond. Undefined when running from source (tests).
 */
declare const CKPT_ASSETS_HASH: string | undefined;

export const LIB_NAME = "libckpt.so";
export const STUB_NAME = "ckpt-restore";

/** The embedded bytes, as cache.ts sources; each is read only if used. */
export function embeddedAssets(): AssetSource[] {
	return [embedded(LIB_NAME, libPath, 0o644), embedded(STUB_NAME, stubPath, 0o755)];
}

function embedded(name: string, path: string, mode: number): AssetSource {
	let bytes: Uint8Array | undefined;
	return {
		name,
		mode,
		get bytes() {
			return (bytes ??= readFileSync(path));
		},
	};
}

/** The absolute path of one extracted, freshly verified helper file. */
export function extractAsset(name: typeof LIB_NAME | typeof STUB_NAME): string {
	const hash = typeof CKPT_ASSETS_HASH === "string" ? CKPT_ASSETS_HASH : undefined;
	return ensureAssets(embeddedAssets(), undefined, [name], hash)[name]!;
}
