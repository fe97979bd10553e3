/**
 * Interactive "restart" and "inspect": pick an image in the current
 * directory, or type the path of an image or of a directory to pick from.
 */
import { outro, select, text } from "@clack/prompts";
import { restart } from "../commands/restart.ts";
import { extractAsset, STUB_NAME } from "../process/assets.ts";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { hasImageMagic, listImages, restartRefusal } from "../image/list.ts";
import { readImage } from "../image/read.ts";
import { imageRefusal } from "../image/verdict.ts";
import { renderInfo } from "../image/render.ts";
import { treeProcesses } from "../image/tree-info.ts";
import { imageChoices } from "./choices.ts";
import { answer, print, type PromptIO } from "./io.ts";

/** The last choice of every image list: type a path instead. */
const ELSEWHERE = "\0elsewhere";

/**
 * Why `typed` names neither a usable image nor a directory with one, or
 * undefined; the restore stub at `stub` judges the images.
 */
export function pathProblem(typed: string | undefined, forRestart: boolean, stub: string): string | undefined {
	if (!typed?.trim()) return "type the path of an image, or of a directory that holds some";
	const path = resolve(typed.trim());
	let st: ReturnType<typeof statSync>;
	try {
		st = statSync(path);
	} catch {
		return `${typed.trim()}: no such file or directory`;
	}
	if (st.isDirectory()) {
		const usable = listImages(path, stub).some((i) => i.image && !(forRestart && i.refusal));
		return usable ? undefined : `no usable ckpt images in ${path}`;
	}
	if (!hasImageMagic(path)) return `${typed.trim()}: not a ckpt image`;
	try {
		readImage(path);
	} catch (e) {
		return (e as Error).message;
	}
	const why = imageRefusal(stub, path, "tables");
	if (why !== undefined) return `${path}: ${why}`;
	return forRestart ? restartRefusal(path, st, process.getuid!()) : undefined;
}

async function pickImage(io: PromptIO, verb: string, dir = process.cwd()): Promise<string> {
	const forRestart = verb !== "inspect";
	const stub = await extractAsset(STUB_NAME);
	const images = listImages(dir, stub);
	const options = [
		...imageChoices(images, Date.now(), forRestart),
		{ value: ELSEWHERE, label: "Another file or directory…", hint: "type its path" },
	];
	const none = images.length === 0 ? ` (no ckpt images in ${dir})` : "";
	const picked = answer(await select({ message: `Image to ${verb}${none}`, options, ...io }), io);
	if (picked !== ELSEWHERE) return picked;
	const typed = answer(await text({
		message: `Image to ${verb}, or a directory of images`,
		placeholder: "run1.dat, /scratch/checkpoints",
		validate: (v) => pathProblem(v, forRestart, stub),
		...io,
	}), io);
	const path = resolve(typed.trim());
	return statSync(path).isDirectory() ? pickImage(io, verb, path) : path;
}

export async function restartAction(io: PromptIO): Promise<never> {
	const path = await pickImage(io, "restart from");
	outro(`Restarting from ${path}`, io);
	return restart(path);
}

export async function inspectAction(io: PromptIO): Promise<void> {
	const path = await pickImage(io, "inspect");
	outro(path, io);
	const image = readImage(path);
	print(io, renderInfo(image, Date.now(), treeProcesses(image, readImage)));
}
