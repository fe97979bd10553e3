/**
 * CRC32C (Castagnoli), the checksum every ckpt image uses: reflected
 * polynomial 0x82F63B78, initial value ~0, final xor ~0. It is the CRC the
 * SSE4.2 `crc32` instruction computes, so the C side can be fast and we agree
 * with it bit for bit. "123456789" -> 0xE3069283.
 */

const TABLE = makeTable();

function makeTable(): Uint32Array {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
}

/**
 * CRC32C of `bytes`. Pass the previous result as `crc` to continue over data
 * read in chunks: crc32c(b, crc32c(a)) === crc32c(a + b).
 *
 * @example crc32c(new TextEncoder().encode("123456789")) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
	let c = ~crc >>> 0;
	for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
	return ~c >>> 0;
}
