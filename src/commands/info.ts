/** `ckpt info [IMAGE] [--json] [--verify]`: describe an image; optionally have the restore stub check all of it. */
import type { CAC } from "cac";
import { bytes } from "../cli/text.ts";
import type { Image, VerifyResult } from "../image/read.ts";

// The image reader and renderers load only when this command runs: every
// `ckpt PROGRAM` start would otherwise pay for evaluating them.

interface InfoOptions {
	verify?: boolean;
	json?: boolean;
}

export function define(cli: CAC): void {
	cli.command("info [image]", "Describe IMAGE (default: $CKPT_IMAGE or ./myckpt.dat)")
		.option("--json", "Print JSON instead of tables (schema: docs/info-json.md)")
		.option("--verify", "Also check the whole image as a restart would, every stored byte too (by the restore stub)")
		.example("  $ ckpt info                         # what ./myckpt.dat holds")
		.example("  $ ckpt info run1.dat --verify")
		.example("  $ ckpt info --json | jq '.threads | length'")
		.action((image: string | undefined, opts: InfoOptions) => info(image, opts));
}

export async function info(imageArg: string | undefined, opts: InfoOptions): Promise<void> {
	const { defaultImage, readImage } = await import("../image/read.ts");
	const { infoJson } = await import("../image/json.ts");
	const { renderInfo } = await import("../image/render.ts");
	const { treeProcesses } = await import("../image/tree-info.ts");
	const image = readImage(imageArg || defaultImage());
	// A tree's root image: each member's image beside it, read for its program and held to the table.
	const processes = treeProcesses(image, readImage);
	if (opts.json) {
		// All or nothing: a failed verification prints no half-document.
		const verified = opts.verify ? await verify(image) : undefined;
		console.log(JSON.stringify({ ...infoJson(image, processes), ...(verified && { verified }) }, null, 2));
		return;
	}
	// The description first: it says what the failing data belonged to.
	console.log(renderInfo(image, Date.now(), processes));
	if (!opts.verify) return;
	const verified = await verify(image);
	console.log(`\nverified: ${verified.items} stored items, ${bytes(verified.bytes)}, all checksums match`);
}

/**
 * The restore stub's verdict on the whole image (it decides what a restart
 * accepts, see verdict.ts). On a refusal the reader, when it sees the same
 * fault, names the extent or fd it lies in; the stub's line says less.
 */
async function verify(image: Image): Promise<VerifyResult> {
	const { ImageError, storedItems, verifyData } = await import("../image/read.ts");
	const { imageRefusal } = await import("../image/verdict.ts");
	const { extractAsset, STUB_NAME } = await import("../process/assets.ts");
	const why = imageRefusal(await extractAsset(STUB_NAME), image.path, "data");
	if (why === undefined) return storedItems(image);
	verifyData(image);
	throw new ImageError(`${image.path}: ${why}`);
}
