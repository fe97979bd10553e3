/**
 * Where a reader test keeps the images it writes: a temporary directory,
 * removed after the file's tests, and numbered image files in it.
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function imageFiles(prefix: string): { dir: string; write: (bytes: Uint8Array) => string } {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));
	let n = 0;
	const write = (bytes: Uint8Array) => {
		const p = join(dir, `img${n++}.dat`);
		writeFileSync(p, bytes);
		return p;
	};
	return { dir, write };
}
