/**
 * Reading ckpt images: the TypeScript mirror of c/ckpt_format.h. The byte
 * layout (every struct, every field at its explicit offset, little-endian)
 * is in format.ts and checked against the C header by
 * test/unit/format-mirror.test.ts; the header and table checks are in
 * header.ts and tables.ts, the kinds they accept in kinds.ts.
 *
 * readImage() reads only the header and the tables, and never trusts a size
 * before checking it against the real file, so arbitrary bytes give an
 * ImageError, never a hang, a crash or a huge allocation. Region data is
 * not read: the restore stub checks each extent's CRC as it loads it, and
 * verifyData() does the same here (`ckpt info --verify` asks the stub,
 * verdict.ts, and this only to name what failed).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { crc32c } from "./crc32c.ts";
import { EXTENT_KINDS } from "./kinds.ts";
import { ImageError } from "../cli/errors.ts";
import { CKPT_EXTENT_DATA, CKPT_HEADER_SIZE } from "./format.ts";
import { checkHeader } from "./header.ts";
import { decodeTables } from "./tables.ts";
import type { Image } from "./types.ts";

export { ImageError } from "../cli/errors.ts";
export type * from "./types.ts";
// commands/info.ts loads the reader and the default name in one dynamic import.
export { defaultImage } from "../protocol/image-name.ts";

/**
 * Open, check and decode the image at `path`. Every failure is an
 * ImageError whose message starts with `path`.
 *
 * @example readImage("myckpt.dat").regions.length
 */
export function readImage(path: string): Image {
	const fd = openImage(path);
	try {
		const st = fstatSync(fd);
		if (st.isDirectory()) throw new ImageError(`${path}: is a directory, not an image`);
		if (!st.isFile()) throw new ImageError(`${path}: not a regular file`);
		const fileSize = st.size;
		const header = checkHeader(path, readAt(path, fd, 0, Math.min(fileSize, CKPT_HEADER_SIZE)), fileSize);
		const tables = readAt(path, fd, header.tablesOffset, header.tablesSize);
		if (crc32c(tables) !== header.tablesCrc) throw new ImageError(`${path}: tables checksum mismatch (corrupt image)`);
		return { path, fileSize, header, ...decodeTables(path, header, tables) };
	} finally {
		closeSync(fd);
	}
}

export interface VerifyResult {
	items: number; // extents (an older image's compressed block once), pipe buffers and stored files checked
	bytes: number;
}

/**
 * What the stub's --verify reads: DATA extents, PARENT extents in older
 * images (each compressed block once, however many extents lie in it), pipe
 * buffers, stored files. verifyData() reads the same, except PARENT extents.
 */
export function storedItems(image: Image): VerifyResult {
	const result: VerifyResult = { items: 0, bytes: 0 };
	const add = (len: number) => {
		result.items++;
		result.bytes += len;
	};
	// the bytes read: compressed, if they are; an older image's as it stored them,
	// where a compressed block some PARENT extents share is read once (by link and offset)
	const blocks = new Set<string>();
	for (const r of image.regions)
		for (const e of r.extents) {
			const kind = EXTENT_KINDS.of(e.kind)!;
			if (kind.inOlderImage && e.blockPages > 0) {
				const block = `${e.link}:${e.dataOffset}`;
				if (!blocks.has(block)) blocks.add(block), add(e.storedLen);
			} else if (kind.inImage || kind.inOlderImage) add(e.storedLen);
		}
	for (const f of image.fds) {
		if (f.pipeLen > 0) add(f.pipeLen);
		if (f.contentLen > 0) add(f.contentLen);
	}
	return result;
}

/**
 * Re-read every DATA extent and saved pipe buffer of an image from
 * readImage() and compare its CRC32C with the recorded one. Throws an
 * ImageError naming the first mismatch. An incremental image's PARENT
 * extents are in older files: the stub's --verify, which finds them
 * (c/stub/chain.c), is what checks those.
 */
export function verifyData(image: Image): VerifyResult {
	const fd = openImage(image.path);
	const result: VerifyResult = { items: 0, bytes: 0 };
	const check = (offset: number, len: number, expected: number, what: string) => {
		if (crcOfRange(image.path, fd, offset, len) !== expected)
			throw new ImageError(`${image.path}: ${what}: data checksum mismatch (corrupt image)`);
		result.items++;
		result.bytes += len;
	};
	try {
		for (const r of image.regions)
			for (const e of r.extents)
				if (e.kind === CKPT_EXTENT_DATA)
					check(e.dataOffset, e.storedLen, e.crc, `memory at 0x${e.start.toString(16)} (+${e.len})`);
		for (const f of image.fds) {
			if (f.pipeLen > 0) check(f.pipeDataOffset, f.pipeLen, f.pipeCrc, `pipe contents of fd ${f.fd}`);
			if (f.contentLen > 0) check(f.contentOffset, f.contentLen, f.contentCrc, `stored contents of fd ${f.fd}`);
		}
	} finally {
		closeSync(fd);
	}
	return result;
}

function openImage(path: string): number {
	try {
		// O_NONBLOCK: opening a FIFO by mistake must fail the "regular file" check, not hang.
		return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
	} catch (e) {
		throw new ImageError(`${path}: cannot open (${describeFsError(e)})`);
	}
}

/** Exactly `len` bytes at `offset`; a short read means the file shrank under us. */
function readAt(path: string, fd: number, offset: number, len: number): Uint8Array {
	const buf = new Uint8Array(len);
	let done = 0;
	while (done < len) {
		const n = readSync(fd, buf, done, len - done, offset + done);
		if (n === 0) throw new ImageError(`${path}: truncated while reading (file changed?)`);
		done += n;
	}
	return buf;
}

const CHUNK = 8 << 20;

function crcOfRange(path: string, fd: number, offset: number, len: number): number {
	let crc = 0;
	for (let done = 0; done < len; done += CHUNK)
		crc = crc32c(readAt(path, fd, offset + done, Math.min(CHUNK, len - done)), crc);
	return crc;
}

function describeFsError(e: unknown): string {
	const code = (e as NodeJS.ErrnoException).code;
	if (code === "ENOENT") return "no such file";
	if (code === "EACCES") return "permission denied";
	return (e as Error).message ?? String(e);
}
