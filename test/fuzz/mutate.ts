// Mutations of real images for the fuzz tests: bit flips, truncations,
// extensions, header field edits and swapped regions, from a seeded PRNG so
// a failure can be replayed. Optionally "resealed": checksums recomputed
// after the change, so the structural checks behind them are reached too.
import { crc32c } from "../../src/image/crc32c.ts";
import { CKPT_HEADER_SIZE, HEADER, HEADER_STRUCT_SIZE, REGION } from "../../src/image/format.ts";

/** xorshift32: small, fast, reproducible. */
export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { next, below: (n: number) => next() % Math.max(1, n) };
}

export interface Mutation {
  image: Uint8Array;
  what: string;
  /** Only bytes of memory contents changed: header and tables still check out. */
  dataOnly: boolean;
}

const u64 = (b: Uint8Array, off: number) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(off, true));

export function reseal(img: Uint8Array): void {
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (img.length < CKPT_HEADER_SIZE) return;
  const tOff = u64(img, HEADER.fields.tables_offset.off);
  const tSize = u64(img, HEADER.fields.tables_size.off);
  if (tOff + tSize <= img.length) v.setUint32(HEADER.fields.tables_crc.off, crc32c(img.subarray(tOff, tOff + tSize)), true);
  v.setUint32(HEADER.fields.header_crc.off, 0, true);
  v.setUint32(HEADER.fields.header_crc.off, crc32c(img.subarray(0, CKPT_HEADER_SIZE)), true);
}

const EDGE = [0n, 1n, 0xffffffffn, 0xffffffffffffffffn, 0x1000n, 0x7ffffffff000n, 0x8000000000000000n];

export function mutate(original: Uint8Array, r: ReturnType<typeof rng>, resealed: boolean): Mutation {
  const img = original.slice();
  const dataOffset = u64(original, HEADER.fields.data_offset.off);
  const v = new DataView(img.buffer);
  switch (r.below(5)) {
    case 0: {
      const at = r.below(img.length);
      img[at]! ^= 1 << r.below(8);
      return { image: img, what: `bit flip at ${at}`, dataOnly: at >= dataOffset };
    }
    case 1: {
      const len = r.below(img.length);
      return { image: img.subarray(0, len), what: `truncated to ${len}`, dataOnly: false };
    }
    case 2: {
      const extra = 1 + r.below(8192);
      const out = new Uint8Array(img.length + extra);
      out.set(img);
      for (let i = img.length; i < out.length; i++) out[i] = r.below(256);
      return { image: out, what: `extended by ${extra}`, dataOnly: false };
    }
    case 3: {
      const off = r.below(HEADER_STRUCT_SIZE / 4) * 4;
      const value = r.below(2) ? EDGE[r.below(EDGE.length)]! : BigInt(r.next());
      if (off + 8 <= HEADER_STRUCT_SIZE && r.below(2)) v.setBigUint64(off, value, true);
      else v.setUint32(off, Number(value & 0xffffffffn), true);
      if (resealed) reseal(img);
      return { image: img, what: `header field at ${off} = ${value}${resealed ? " (resealed)" : ""}`, dataOnly: false };
    }
    default: {
      const tOff = u64(img, HEADER.fields.tables_offset.off);
      const regionsOff = tOff + u64(img, HEADER.fields.regions_off.off);
      const n = v.getUint32(HEADER.fields.nregions.off, true);
      const a = r.below(n), b = r.below(n);
      const A = img.slice(regionsOff + a * REGION.size, regionsOff + (a + 1) * REGION.size);
      img.copyWithin(regionsOff + a * REGION.size, regionsOff + b * REGION.size, regionsOff + (b + 1) * REGION.size);
      img.set(A, regionsOff + b * REGION.size);
      if (resealed) reseal(img);
      return { image: img, what: `regions ${a} and ${b} swapped${resealed ? " (resealed)" : ""}`, dataOnly: false };
    }
  }
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * One field of one record in the tables set to an edge or random value,
 * checksums recomputed, so the checks of every table's records are reached
 * (a plain bit flip there only meets the tables checksum). Fields are
 * 4-byte aligned words, half the time widened to 8 bytes.
 */
export function mutateTables(original: Uint8Array, r: ReturnType<typeof rng>): Mutation {
  const img = original.slice();
  const v = new DataView(img.buffer);
  const tOff = u64(img, HEADER.fields.tables_offset.off);
  const tSize = u64(img, HEADER.fields.tables_size.off);
  const at = tOff + r.below(tSize / 4) * 4;
  const value = r.below(3) ? EDGE[r.below(EDGE.length)]! : BigInt(r.next() % 4096);
  const wide = at + 8 <= tOff + tSize && r.below(2) === 1;
  if (wide) v.setBigUint64(at, value, true);
  else v.setUint32(at, Number(value & 0xffffffffn), true);
  reseal(img);
  return { image: img, what: `tables word at ${at - tOff} = ${value}${wide ? " (u64)" : ""} (resealed)`, dataOnly: false };
}
