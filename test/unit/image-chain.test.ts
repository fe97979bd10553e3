/**
 * An incremental image's PARENT extents (version 5), read as c/stub/validate.c
 * reads them: an older image's bytes as they are, at any offset past its
 * header page, or (version 9) pages of one of its compressed blocks. Every
 * place must lie inside the older image it names; the block fields belong
 * to PARENT extents alone. And what `ckpt info` sums from them: the stub's
 * --verify reads a shared block once, and "compressed to" counts the image's
 * own bytes only.
 */
import { expect, test } from "bun:test";
import {
	CKPT_CODEC_LZ4, CKPT_EXTENT_DATA, CKPT_EXTENT_HOLE, CKPT_EXTENT_PARENT, CKPT_HEADER_SIZE, CKPT_TRACKING_UNAVAILABLE, EXTENT, HEADER,
} from "../../src/image/format.ts";
import { infoJson } from "../../src/image/json.ts";
import { readImage, storedItems } from "../../src/image/read.ts";
import { renderInfo } from "../../src/image/render.ts";
import { buildImage, defaultSpec, poke, recordOffset } from "./image-builder.ts";
import { imageFiles } from "./image-files.ts";

const { write, failure } = imageFiles("ckpt-chain-");

const PARENT_SIZE = 1_000_000; // links[0], the parent
const GRANDPARENT_SIZE = 8000; // links[1]
const BLOCK_A = { link: 0, dataOffset: 5001, storedLen: 3000, blockPages: 4, blockCrc: 0xa11ce };

/**
 * The heap region (region 1) of the default image, 8 pages: a page of its
 * own, then four pages of block A (two extents: pages 0-1 and 2-3 of it),
 * a page the parent kept as it was (at an unaligned offset: a compressed
 * image packs its blocks), a page of block B in the grandparent (at the
 * same offset as block A, in another file) and a fresh page.
 */
function chainImage(): Uint8Array {
	const spec = defaultSpec();
	spec.links = [{ imageId: 0xb1n, fileSize: BigInt(PARENT_SIZE) }, { imageId: 0xb0n, fileSize: BigInt(GRANDPARENT_SIZE) }];
	spec.regions[1]!.extents = [
		{ pages: 1, kind: CKPT_EXTENT_DATA, fill: 1 },
		{ pages: 2, kind: CKPT_EXTENT_PARENT, parent: { ...BLOCK_A, blockPage: 0 } },
		{ pages: 2, kind: CKPT_EXTENT_PARENT, parent: { ...BLOCK_A, blockPage: 2 } },
		{ pages: 1, kind: CKPT_EXTENT_PARENT, parent: { dataOffset: 9001 } },
		{ pages: 1, kind: CKPT_EXTENT_PARENT, parent: { link: 1, dataOffset: 5001, storedLen: 2000, blockPages: 2, blockPage: 1, blockCrc: 0xb } },
		{ pages: 1, kind: CKPT_EXTENT_HOLE },
	];
	return buildImage(spec);
}

const img = chainImage();
// Global indexes of region 1's extents (region 0 has two); region-local ones in the messages are one less.
const [DATA, A0, A2, PLAIN, B, HOLE] = [2, 3, 4, 5, 6, 7].map((i) => recordOffset(img, "extents", i)) as [number, number, number, number, number, number];
/** A copy of the image with extent fields changed: [record offset, field, value]... */
const edit = (...edits: [number, string, number | bigint][]) => {
	const copy = img.slice();
	for (const [at, field, v] of edits) poke(copy, EXTENT, at, field, v);
	return copy;
};
const change = (at: number, field: string, v: number | bigint) => edit([at, field, v]);
const accepted = (bytes: Uint8Array) => readImage(write(bytes));

test("PARENT extents in a compressed block, plain ones at unaligned offsets: decoded with their block fields", () => {
	const image = accepted(img);
	expect(image.header.links.map((l) => l.fileSize)).toEqual([BigInt(PARENT_SIZE), BigInt(GRANDPARENT_SIZE)]);
	const extents = image.regions[1]!.extents;
	expect(extents.map((e) => e.kind)).toEqual([1, 5, 5, 5, 5, 2]);
	expect(extents[0]).toMatchObject({ dataOffset: expect.any(Number), storedLen: 4096, link: 0, blockPages: 0, blockPage: 0, blockCrc: 0 });
	expect(extents[1]).toMatchObject({ len: 8192, link: 0, dataOffset: 5001, storedLen: 3000, blockPages: 4, blockPage: 0, blockCrc: 0xa11ce });
	expect(extents[2]).toMatchObject({ len: 8192, link: 0, dataOffset: 5001, storedLen: 3000, blockPages: 4, blockPage: 2, blockCrc: 0xa11ce });
	expect(extents[3]).toMatchObject({ len: 4096, link: 0, dataOffset: 9001, storedLen: 4096, blockPages: 0, blockPage: 0, blockCrc: 0 });
	expect(extents[4]).toMatchObject({ len: 4096, link: 1, dataOffset: 5001, storedLen: 2000, blockPages: 2, blockPage: 1, blockCrc: 0xb });
	expect(extents[5]).toMatchObject({ dataOffset: 0, storedLen: 0, blockPages: 0, blockPage: 0, blockCrc: 0 });
});

test("the edges a block allows: its last pages, 256 pages, one byte less than it inflates to, the last byte of the file", () => {
	expect(accepted(change(A2, "block_page", 2)).regions[1]!.extents[2]!.blockPage).toBe(2); // pages 2-3 of 4
	expect(accepted(change(B, "block_page", 1)).regions[1]!.extents[4]!.blockPage).toBe(1); // page 1 of 2
	const big = edit([A0, "block_pages", 256], [A0, "block_page", 254]);
	expect(accepted(big).regions[1]!.extents[1]).toMatchObject({ blockPages: 256, blockPage: 254 });
	expect(accepted(change(A0, "stored_len", 4 * 4096 - 1)).regions[1]!.extents[1]!.storedLen).toBe(16383);
	expect(accepted(change(A0, "data_offset", PARENT_SIZE - 3000)).regions[1]!.extents[1]!.dataOffset).toBe(PARENT_SIZE - 3000);
	expect(accepted(change(PLAIN, "data_offset", CKPT_HEADER_SIZE)).regions[1]!.extents[3]!.dataOffset).toBe(CKPT_HEADER_SIZE);
	expect(accepted(change(PLAIN, "data_offset", PARENT_SIZE - 4096)).regions[1]!.extents[3]!.dataOffset).toBe(PARENT_SIZE - 4096);
});

test("block fields without a block: on a plain PARENT extent, on any other kind", () => {
	expect(failure(change(PLAIN, "block_page", 1))).toBe(
		"region 1 (0x600000-0x608000): extent 3 has the fields of a compressed block, but no block (corrupt image)");
	expect(failure(change(PLAIN, "block_crc", 7))).toMatch(/extent 3 has the fields of a compressed block, but no block/);
	for (const field of ["block_pages", "block_page", "block_crc"]) {
		expect(failure(change(DATA, field, 1))).toBe(
			"region 1 (0x600000-0x608000): extent 0 (DATA) has the fields of a compressed block (corrupt image)");
		expect(failure(change(HOLE, field, 1))).toMatch(/extent 5 \(ZERO\) has the fields of a compressed block/);
	}
	const stack = recordOffset(img, "extents", 8);
	expect(failure(change(stack, "block_pages", 1))).toMatch(/^region 2 .*: extent 0 \(DATA\) has the fields of a compressed block/);
	// A block's extent turned plain: its stored length is the block's, not its own.
	expect(failure(edit([A0, "block_pages", 0], [A0, "block_crc", 0]))).toMatch(/extent 1 stores 3000 bytes for 8192/);
	expect(failure(change(A0, "block_pages", 0))).toMatch(/extent 1 has the fields of a compressed block, but no block/);
	expect(failure(change(PLAIN, "stored_len", 4095))).toMatch(/extent 3 stores 4095 bytes for 4096/);
});

test("a block's part that does not fit the block, or a block longer than CKPT_COMPRESS_BLOCK", () => {
	expect(failure(change(A2, "block_page", 3))).toBe(
		"region 1 (0x600000-0x608000): extent 2 (8192 bytes from page 3) does not fit its compressed block of 4 pages (corrupt image)");
	expect(failure(change(A2, "block_pages", 3))).toMatch(/extent 2 \(8192 bytes from page 2\) does not fit its compressed block of 3 pages/);
	expect(failure(change(B, "block_page", 2))).toMatch(/extent 4 \(4096 bytes from page 2\) does not fit its compressed block of 2 pages/);
	expect(failure(change(B, "block_page", 0xffff))).toMatch(/extent 4 .* does not fit/);
	expect(failure(change(A0, "block_pages", 257))).toMatch(/extent 1 lies in a compressed block of 257 pages, more than one block/);
	expect(failure(change(A0, "block_pages", 0xffff))).toMatch(/extent 1 lies in a compressed block of 65535 pages/);
});

test("a block that did not shrink, or of no bytes", () => {
	expect(failure(change(A0, "stored_len", 4 * 4096))).toBe(
		"region 1 (0x600000-0x608000): extent 1 stores 16384 bytes for a compressed block of 16384 (corrupt image)");
	expect(failure(change(A0, "stored_len", 5 * 4096))).toMatch(/extent 1 stores 20480 bytes for a compressed block of 16384/);
	expect(failure(change(A0, "stored_len", 0))).toMatch(/extent 1 stores 0 bytes for a compressed block of 16384/);
	expect(failure(change(B, "stored_len", 2 * 4096))).toMatch(/extent 4 stores 8192 bytes for a compressed block of 8192/);
});

test("data outside the older image it reads from: its header page, past its end, a link it does not have", () => {
	expect(failure(change(A0, "data_offset", PARENT_SIZE - 2999))).toBe(
		`region 1 (0x600000-0x608000): extent 1 data [${PARENT_SIZE - 2999}, +3000) lies outside the older image it reads from (corrupt image)`);
	expect(failure(change(A0, "data_offset", CKPT_HEADER_SIZE - 1))).toMatch(/extent 1 data \[4095, \+3000\) lies outside the older image/);
	expect(failure(change(A0, "stored_len", 0xffffffffffff0000n))).toMatch(/extent 1 stores/); // no overflow past the checks
	expect(failure(change(A0, "data_offset", 0xfffffffffffff000n))).toMatch(/extent 1 data .* lies outside the older image/);
	expect(failure(change(PLAIN, "data_offset", PARENT_SIZE - 4095))).toMatch(/extent 3 data \[\d+, \+4096\) lies outside the older image/);
	expect(failure(change(PLAIN, "data_offset", 0))).toMatch(/extent 3 data \[0, \+4096\) lies outside the older image/);
	// The grandparent is shorter: B is held to its own link's size.
	expect(failure(change(B, "data_offset", GRANDPARENT_SIZE - 1999))).toMatch(/extent 4 data \[6001, \+2000\) lies outside the older image/);
	expect(accepted(change(B, "data_offset", GRANDPARENT_SIZE - 2000)).regions[1]!.extents[4]!.dataOffset).toBe(6000);
	expect(failure(change(B, "link", 2))).toMatch(/extent 4 data \[5001, \+2000\) lies outside the older image/);
	expect(failure(change(PLAIN, "link", 2))).toMatch(/extent 3 data .* lies outside the older image/);
});

test("tracking 3 (--compress, every page, before version 9) is no more", () => {
	expect(failure(poke(img.slice(), HEADER, 0, "tracking", CKPT_TRACKING_UNAVAILABLE + 1))).toBe(
		"incremental image fields out of range (corrupt image)");
});

test("what --verify reads: each compressed block once by link and offset, a plain PARENT extent as its length", () => {
	// DATA: 1 + 1 + 2 pages; the pipe's 12 bytes; block A (two extents) once, the plain page, block B.
	expect(storedItems(accepted(img))).toEqual({ items: 4 + 3, bytes: 4 * 4096 + 12 + 3000 + 4096 + 2000 });
	// Block B moved to link 0 at block A's offset is block A: read once.
	const same = edit([B, "link", 0], [B, "stored_len", 3000], [B, "block_pages", 4]);
	expect(storedItems(accepted(same))).toEqual({ items: 4 + 2, bytes: 4 * 4096 + 12 + 3000 + 4096 });
	expect(storedItems(accepted(buildImage()))).toEqual({ items: 4, bytes: 5 * 4096 + 12 });
});

test("ckpt info: compressed to the image's own bytes, not its older images'", () => {
	const p = write(poke(img.slice(), HEADER, 0, "codec", CKPT_CODEC_LZ4));
	const image = readImage(p);
	expect(renderInfo(image, Date.now())).toMatch(/^memory data +16\.0 KiB stored of 48\.0 KiB mapped, compressed \(lz4\) to 16\.0 KiB$/m);
	expect(renderInfo(image, Date.now())).toMatch(/0x600000-0x608000\s+rw-p\s+32\.0 KiB\s+anon\s+4\.0 KiB\s+4\.0 KiB\s+-\s+24\.0 KiB\s+\[heap\]/);
	const doc = JSON.parse(JSON.stringify(infoJson(image)));
	expect(doc.totals).toMatchObject({ memoryStored: 16384, memoryCompressed: 16384 });
	expect(doc.regions[1].stored).toEqual({ data: 4096, zero: 4096, file: 0, guard: 0, older: 6 * 4096 });
	expect(doc.incremental.chain.map((l: { size: number }) => l.size)).toEqual([PARENT_SIZE, GRANDPARENT_SIZE]);
});
