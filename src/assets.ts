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

export const LIB_NAME = "libckpt.so";
export const STUB_NAME = "ckpt-restore";

/** The embedded bytes, as cache.ts sources. */
export function embeddedAssets(): AssetSource[] {
	return [
		{ name: LIB_NAME, bytes: readFileSync(libPath), mode: 0o644 },
		{ name: STUB_NAME, bytes: readFileSync(stubPath), mode: 0o755 },
	];
}

/** Absolute paths of the extracted, freshly verified library and stub. */
export function extractAssets(): { lib: string; stub: string } {
	const paths = ensureAssets(embeddedAssets());
	return { lib: paths[LIB_NAME]!, stub: paths[STUB_NAME]! };
}
