/**
 * The images in a directory: every regular file that starts with the image
 * magic, judged by the restore stub (header and tables, verdict.ts) and
 * read so each comes with its program, or with the one-line reason it is
 * unusable. Newest first.
 */
import { closeSync, constants, openSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { ImageError } from "../cli/errors.ts";
import { CKPT_MAGIC, CKPT_MEMBER_LIVE } from "./format.ts";
import { type Image, readImage } from "./read.ts";
import { shellQuote } from "../cli/text.ts";
import { imageRefusal } from "./verdict.ts";
import { isMemberImage, memberImageProblem } from "./tree-info.ts";

export interface ListedImage {
	name: string; // file name inside the directory
	path: string;
	size: number;
	/** When it was taken (from the image), else the file's mtime. */
	timeMs: number;
	image?: Image;
	error?: string; // why it cannot be used (the restore stub's words), without the path
	/** Why `ckpt restart` would refuse a readable image (the stub's own words), if it would. */
	refusal?: string;
	/** A tree's root image: how many processes it restores, the root included (its member files are not listed). */
	processes?: number;
}

/**
 * What the restart stub refuses before reading a byte (c/stub/validate.c,
 * check_image_file): an image it did not create, or one others could have
 * altered. Said in the stub's words. Its check mode leaves this out (it is
 * about who restarts, not about the image), so a list says it here.
 *
 * @example restartRefusal("/x.dat", { uid: 0, mode: 0o100600 }, 1000) // "owned by uid 0, not by you (uid 1000); restart only images you created"
 */
export function restartRefusal(path: string, st: { uid: number; mode: number }, uid: number): string | undefined {
	if (st.uid !== uid) return `owned by uid ${st.uid}, not by you (uid ${uid}); restart only images you created`;
	if (st.mode & 0o022) return `writable by group or others, so it could have been altered; run: chmod 600 ${path}`;
	return undefined;
}

/** Whether `path` is (or links to) a regular file beginning with the image magic; never blocks on a FIFO. */
export function hasImageMagic(path: string): boolean {
	let fd: number;
	try {
		if (!statSync(path).isFile()) return false;
		fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
	} catch {
		return false;
	}
	try {
		const head = Buffer.alloc(8);
		return readSync(fd, head, 0, 8, 0) === 8 && head.toString("latin1") === CKPT_MAGIC;
	} catch {
		return false;
	} finally {
		closeSync(fd);
	}
}

/**
 * The images in `dir`, newest first, each judged by the restore stub at
 * `stub` (extractAsset(STUB_NAME)). Throws ImageError if `dir` cannot be read.
 */
export function listImages(dir: string, stub: string): ListedImage[] {
	let names: string[];
	try {
		names = readdirSync(dir);
	} catch (e) {
		const code = (e as NodeJS.ErrnoException).code;
		throw new ImageError(`${dir}: ${code === "ENOENT" ? "no such directory" : code === "ENOTDIR" ? "not a directory" : (e as Error).message}`);
	}
	const found: ListedImage[] = [];
	for (const name of names) {
		const path = join(dir, name);
		if (!hasImageMagic(path)) continue;
		const st = statSync(path);
		const entry: ListedImage = { name, path, size: st.size, timeMs: st.mtimeMs };
		const refusal = restartRefusal(path, st, process.getuid!());
		if (refusal) entry.refusal = refusal;
		found.push(entry);
		const why = imageRefusal(stub, path, "tables");
		if (why !== undefined) {
			entry.error = why;
			continue;
		}
		try {
			entry.image = readImage(path);
			entry.timeMs = Number(entry.image.header.createdNs / 1_000_000n);
		} catch (e) {
			// The stub accepted what the reader cannot show (a disagreement
			// verify-agreement.test.ts exists to prevent): say why all the same.
			if (!(e instanceof ImageError)) throw e;
			entry.error = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
		}
	}
	return withoutMemberFiles(found).sort((a, b) => b.timeMs - a.timeMs || a.name.localeCompare(b.name));
}

/**
 * One entry per tree: its root image, counting its processes and sized with
 * all their files, refused as a restart would if a member file is missing or
 * not the one the checkpoint wrote; the member files a listed root names are left out,
 * and so are the older member files theirs read from (incremental member
 * images: --keep keeps those while a kept image reads from them, whatever
 * became of their own root). Any other member file (its root is gone)
 * stays, unusable in the stub's words or, if it accepted it, in the restart's.
 */
function withoutMemberFiles(found: ListedImage[]): ListedImage[] {
	const byName = new Map(found.map((e) => [e.name, e]));
	const claimed = new Set<string>();
	for (const root of found) {
		const members = root.image?.members ?? [];
		if (members.length === 0) continue;
		root.processes = members.length + 1;
		for (const m of members.filter((m) => m.kind === CKPT_MEMBER_LIVE)) {
			const file = byName.get(m.file);
			// the first member file a restart would refuse, in its words (it holds each to the table)
			const problem = !file ? "No such file or directory" : file.error ?? (file.image && memberImageProblem(root.image!, m, file.image));
			if (problem && !root.refusal) root.refusal = `member image ${m.file} of pid ${m.pid}: ${problem}`;
			if (!file) continue;
			claimed.add(m.file);
			root.size += file.size;
			for (const older of readFrom(found, file)) if (!claimed.has(older.name)) claimed.add(older.name), (root.size += older.size);
		}
	}
	for (const e of found)
		if (!claimed.has(e.name) && !e.error && e.image && isMemberImage(e.image))
			e.error = `the image of pid ${e.image.header.pid} alone, a member of the process tree of pid ${e.image.header.treeRootPid}: restart the tree's root image instead`;
	return found.filter((e) => !claimed.has(e.name));
}

/** The member files of `found` that member file `file`'s incremental image reads from (its links, by image id). */
function readFrom(found: ListedImage[], file: ListedImage): ListedImage[] {
	const ids = new Set((file.image?.header.links ?? []).map((l) => l.imageId));
	return found.filter((e) => e.image && isMemberImage(e.image) && ids.has(e.image.header.imageId));
}

/**
 * The program of an image as one short line: its name and arguments (and a
 * tree's process count). The
 * name comes from argv[0], since the executable of a program that was
 * restarted once is recorded as the restore stub.
 *
 * @example programLine(image, 30) // "counting-test 10"
 */
export function programLine(image: Image, max = 50): string {
	const text = [basename(image.argv[0] || image.exe), ...image.argv.slice(1).map(shellQuote)].join(" ");
	// a tree's root image: the process count is kept whole, the command line cut
	const tree = image.members.length ? ` (${image.members.length + 1} processes)` : "";
	const room = max - tree.length;
	return (text.length <= room ? text : `${text.slice(0, room - 1)}…`) + tree;
}
