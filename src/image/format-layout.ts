/**
 * How format.ts and its parts (format-tree.ts) spell a C struct: each
 * member at its explicit byte offset, with its type and count, so
 * test/unit/format-mirror.test.ts can hold every one to offsetof/sizeof.
 * A file of its own so a part can describe its structs without importing
 * format.ts, which re-exports it.
 */
export type Scalar = "u8" | "u16" | "u32" | "i32" | "u64" | "i64" | "char";

/** One struct member: byte offset, total size, element type and count. */
export interface Field {
	readonly off: number;
	readonly size: number;
	readonly type: Scalar | Layout<string>;
	readonly count: number; // 1 unless the C member is an array
}

export interface Layout<K extends string> {
	readonly cName: string; // `struct <cName>` in ckpt_format.h
	readonly size: number;
	readonly fields: Readonly<Record<K, Field>>;
}

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, char: 1 };

export function f(off: number, type: Scalar | Layout<string>, count = 1): Field {
	const elem = typeof type === "string" ? SCALAR_SIZE[type] : type.size;
	return { off, size: elem * count, type, count };
}

export function layout<K extends string>(cName: string, size: number, fields: Record<K, Field>): Layout<K> {
	return { cName, size, fields };
}
