/** `ckpt list [DIR]`: the images in DIR (default: the current directory), newest first. */
import type { CAC } from "cac";
import { age, bytes, table } from "../cli/text.ts";

export function define(cli: CAC): void {
	cli.command("list [dir]", "List the images in DIR (default: .) with program, age and size, newest first")
		.example("  $ ckpt list")
		.example("  $ ckpt list /scratch/checkpoints")
		.action((dir?: string) => list(dir || "."));
}

async function list(dir: string): Promise<void> {
	const { listImages, programLine } = await import("../image/list.ts"); // loaded only when listing
	const { extractAsset, STUB_NAME } = await import("../process/assets.ts");
	const images = listImages(dir, await extractAsset(STUB_NAME));
	if (images.length === 0) {
		console.log(`no ckpt images in ${dir}`);
		return;
	}
	const now = Date.now();
	// The program goes last: an unusable image's reason can be long.
	console.log(table([
		["NAME", "AGE", "SIZE", "PROGRAM"],
		...images.map((i) => [i.name, age(i.timeMs, now), bytes(i.size), i.image && !i.refusal ? programLine(i.image) : `unusable: ${i.error ?? i.refusal}`]),
	], [2], ""));
}
