/**
 * Typed, bounds-checked access to one C struct inside a DataView, by field
 * name, using the offsets in format.ts. Every accessor checks that the field
 * has the type it is read as, so a slip in a decoder (reading a u64 field as
 * u32) fails loudly in tests instead of silently reading the wrong bytes.
 */
import type { Layout, Scalar } from "./format-layout.ts";

/** The image's text (char[] members, the string table) is UTF-8; one decoder serves all of it. */
export const utf8 = new TextDecoder();

export class Fields<K extends string> {
	constructor(
		private readonly view: DataView,
		private readonly base: number,
		private readonly layout: Layout<K>,
	) {
		if (base < 0 || base + layout.size > view.byteLength)
			throw new RangeError(`struct ${layout.cName} at ${base} is outside its buffer`);
	}

	private at(k: K, type: Scalar, i: number): number {
		const field = this.layout.fields[k];
		if (field.type !== type) throw new TypeError(`${this.layout.cName}.${k} is not ${type}`);
		if (!Number.isInteger(i) || i < 0 || i >= field.count)
			throw new RangeError(`${this.layout.cName}.${k}[${i}] out of range`);
		return this.base + field.off + i * (field.size / field.count);
	}

	u8(k: K, i = 0): number { return this.view.getUint8(this.at(k, "u8", i)); }
	u16(k: K, i = 0): number { return this.view.getUint16(this.at(k, "u16", i), true); }
	u32(k: K, i = 0): number { return this.view.getUint32(this.at(k, "u32", i), true); }
	i32(k: K, i = 0): number { return this.view.getInt32(this.at(k, "i32", i), true); }
	u64(k: K, i = 0): bigint { return this.view.getBigUint64(this.at(k, "u64", i), true); }
	i64(k: K, i = 0): bigint { return this.view.getBigInt64(this.at(k, "i64", i), true); }

	/** A char[N] member's N bytes. */
	private charBytes(k: K): Uint8Array {
		return new Uint8Array(this.view.buffer, this.view.byteOffset + this.at(k, "char", 0), this.layout.fields[k].count);
	}

	/** A char[N] member as text, up to its first NUL (or all N bytes). */
	chars(k: K): string {
		const bytes = this.charBytes(k);
		const nul = bytes.indexOf(0);
		return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
	}

	/** Whether a char[N] member holds a NUL, as the C side's strings must. */
	terminated(k: K): boolean {
		return this.charBytes(k).includes(0);
	}

	/** Element `i` of a struct-typed member (a nested struct or an array of them). */
	struct<J extends string>(k: K, sub: Layout<J>, i = 0): Fields<J> {
		const field = this.layout.fields[k];
		if (field.type !== sub) throw new TypeError(`${this.layout.cName}.${k} is not struct ${sub.cName}`);
		if (!Number.isInteger(i) || i < 0 || i >= field.count)
			throw new RangeError(`${this.layout.cName}.${k}[${i}] out of range`);
		return new Fields(this.view, this.base + field.off + i * sub.size, sub);
	}
}
