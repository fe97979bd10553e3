/**
 * Where a reader test keeps the images it writes: a temporary directory,
 * removed after the file's tests, numbered image files in it, and the
 * one-line refusal the reader gives one.
 */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageError, readImage } from "../../src/image/read.ts";

export function imageFiles(prefix: string): { dir: string; write: (bytes: Uint8Array) => string; failure: (bytes: Uint8Array) => string } {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));
	let n = 0;
	const write = (bytes: Uint8Array) => {
		const p = join(dir, `img${n++}.dat`);
		writeFileSync(p, bytes);
		return p;
	};
	/** The message readImage fails with (one line), minus the leading "<path>: ". */
	const failure = (bytes: Uint8Array) => {
		const p = write(bytes);
		try {
			readImage(p);
		} catch (e) {
			expect(e).toBeInstanceOf(ImageError);
			const msg = (e as Error).message;
			expect(msg.startsWith(`${p}: `)).toBe(true);
			expect(msg).not.toContain("\n");
			return msg.slice(p.length + 2);
		}
		throw new Error("image was accepted");
	};
	return { dir, write, failure };
}
