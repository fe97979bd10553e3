import { expect, test } from "bun:test";
import { crc32c } from "../../src/image/crc32c.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("check value of CRC-32C", () => {
	expect(crc32c(bytes("123456789"))).toBe(0xe3069283);
});

test("empty input", () => {
	expect(crc32c(new Uint8Array(0))).toBe(0);
});

test("known vectors (RFC 3720 iSCSI)", () => {
	expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
	expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
	expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
});

test("chaining over chunks equals one pass", () => {
	const all = Uint8Array.from({ length: 10000 }, (_, i) => (i * 31) & 0xff);
	let crc = 0;
	for (let i = 0; i < all.length; i += 777) crc = crc32c(all.subarray(i, i + 777), crc);
	expect(crc).toBe(crc32c(all));
});

/** The definition, one bit at a time: what the table-driven code must equal. */
function crcBitwise(data: Uint8Array): number {
	let c = 0xffffffff;
	for (const b of data) {
		c ^= b;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
	}
	return ~c >>> 0;
}

test("every length and offset agrees with the bitwise definition", () => {
	const all = Uint8Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 0xff);
	for (let start = 0; start < 9; start++)
		for (let len = 0; start + len <= all.length; len += 1 + (len >> 3)) {
			const part = all.subarray(start, start + len);
			expect(crc32c(part)).toBe(crcBitwise(part));
		}
});
