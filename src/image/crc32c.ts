/**
 * CRC32C (Castagnoli), the checksum every ckpt image uses: reflected
 * polynomial 0x82F63B78, initial value ~0, final xor ~0. It is the CRC the
 * SSE4.2 `crc32` instruction computes, so the C side can be fast and we agree
 * with it bit for bit. "123456789" -> 0xE3069283.
 *
 * Slicing-by-8: eight tables let one step consume eight bytes with eight
 * independent lookups. `ckpt restart` checks the header page and tables
 * while its code is still cold in the interpreter, where each loop step is
 * costly, and `ckpt info --verify` checks whole images.
 */

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES = makeTables();

function makeTables(): Uint32Array {
	const t = new Uint32Array(8 * 256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
		t[n] = c >>> 0;
	}
	for (let k = 1; k < 8; k++)
		for (let n = 0; n < 256; n++) {
			const prev = t[(k - 1) * 256 + n]!;
			t[k * 256 + n] = (t[prev & 0xff]! ^ (prev >>> 8)) >>> 0;
		}
	return t;
}

/**
 * CRC32C of `bytes`. Pass the previous result as `crc` to continue over data
 * read in chunks: crc32c(b, crc32c(a)) === crc32c(a + b).
 *
 * @example crc32c(new TextEncoder().encode("123456789")) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
	const t = TABLES;
	let c = ~crc >>> 0;
	let i = 0;
	for (const end8 = bytes.length - 7; i < end8; i += 8) {
		c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
		c = t[1792 + (c & 0xff)]! ^ t[1536 + ((c >>> 8) & 0xff)]! ^ t[1280 + ((c >>> 16) & 0xff)]! ^ t[1024 + (c >>> 24)]! ^
			t[768 + bytes[i + 4]!]! ^ t[512 + bytes[i + 5]!]! ^ t[256 + bytes[i + 6]!]! ^ t[bytes[i + 7]!]!;
	}
	for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
	return ~c >>> 0;
}
