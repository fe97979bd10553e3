/**
 * Whether this build can honour --compress. The build leaves LZ4 out where
 * liblz4-dev is missing (scripts/c-sources.ts), as it leaves musl out
 * without musl-gcc, and says so through this define.
 */
import { UsageError } from "./errors.ts";

declare const CKPT_HAVE_LZ4: boolean | undefined;

/** A UsageError when --compress was asked of a build without LZ4. */
export function checkCompressAvailable(asked: boolean): void {
	if (asked && typeof CKPT_HAVE_LZ4 === "boolean" && !CKPT_HAVE_LZ4)
		throw new UsageError("--compress: this ckpt was built without LZ4 (build it where liblz4-dev is installed)");
}
