/** Interactive "restart" and "inspect": pick an image in the current directory. */
import { outro, select } from "@clack/prompts";
import { restart } from "../commands/restart.ts";
import { listImages } from "../image-list.ts";
import { readImage } from "../image.ts";
import { renderInfo } from "../info-render.ts";
import { ImageError } from "../errors.ts";
import { imageChoices } from "./choices.ts";
import { answer, print, type PromptIO } from "./io.ts";

async function pickImage(io: PromptIO, verb: string): Promise<string> {
	const dir = process.cwd();
	const images = listImages(dir);
	if (!images.some((i) => i.image)) throw new ImageError(`no usable ckpt images in ${dir}`);
	return answer(await select({ message: `Image to ${verb}`, options: imageChoices(images, Date.now()), ...io }), io);
}

export async function restartAction(io: PromptIO): Promise<never> {
	const path = await pickImage(io, "restart from");
	outro(`Restarting from ${path}`, io);
	return restart(path);
}

export async function inspectAction(io: PromptIO): Promise<void> {
	const path = await pickImage(io, "inspect");
	outro(path, io);
	print(io, renderInfo(readImage(path), Date.now()));
}
