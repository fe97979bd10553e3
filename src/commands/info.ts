/** `ckpt info [IMAGE] [--verify]`: describe an image; optionally check all its data. */
import type { CAC } from "cac";
import { readImage, verifyData } from "../image.ts";
import { renderInfo } from "../info-render.ts";
import { DEFAULT_IMAGE } from "../launch-env.ts";
import { bytes } from "../text.ts";

export function defineInfo(cli: CAC): void {
	cli.command("info [image]", "Describe IMAGE (default: $CKPT_IMAGE or ./myckpt.dat)")
		.option("--verify", "Also check every stored byte against its checksum")
		.action((image: string | undefined, opts: { verify?: boolean }) => info(image, opts.verify === true));
}

function info(imageArg: string | undefined, verify: boolean): void {
	const image = readImage(imageArg || process.env.CKPT_IMAGE || DEFAULT_IMAGE);
	console.log(renderInfo(image, Date.now()));
	if (verify) {
		const r = verifyData(image);
		console.log(`\nverified: ${r.items} stored items, ${bytes(r.bytes)}, all checksums match`);
	}
}
