import { expect, test } from "bun:test";
import { crc32c } from "../../src/crc32c.ts";

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
