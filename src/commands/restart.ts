/**
 * `ckpt restart [IMAGE] [--image PATH]`: check that IMAGE can be restored
 * here, then become the restore stub (same pid), which rebuilds the process.
 */
import type { CAC } from "cac";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Split } from "../argv.ts";
import { extractAsset, STUB_NAME } from "../assets.ts";
import { execInPlace } from "../exec.ts";
import { defaultImage, readImage } from "../image.ts";
import { checkImageFile, checkMappedFiles, checkOpenFiles, checkVdsoLayout } from "../restore-checks.ts";

export function define(cli: CAC, split: Split): void {
	cli.command("restart [image]", "Resume a checkpointed program from IMAGE (default: $CKPT_IMAGE or ./myckpt.dat)")
		.option("--image <path>", "Where later checkpoints go (default: IMAGE itself)")
		.example("  $ ckpt restart                      # resume ./myckpt.dat")
		.example("  $ ckpt restart run1.dat --image run2.dat")
		.action((image?: string) => restart(image || defaultImage(), split.values.image));
}

/** `ckpt restart [IMAGE]` with no option (cli.ts skips cac for it): cacArgs is ["restart", IMAGE?]. */
export function withoutOptions(split: Split): never {
	return restart(split.cacArgs[1] || defaultImage());
}

/** Restore image `name` in place of this process; later checkpoints go to `nextImage` (default: `name`). */
export function restart(name: string, nextImage?: string): never {
	const image = readImage(name);
	checkImageFile(name, statSync(name), process.getuid!());
	checkMappedFiles(image);
	checkOpenFiles(image);
	checkVdsoLayout(image, readFileSync("/proc/self/maps", "utf8"));

	const abs = resolve(name);
	const next = resolve(nextImage || name);
	const stub = extractAsset(STUB_NAME);
	return execInPlace(stub, [stub, abs, next], process.env);
}
