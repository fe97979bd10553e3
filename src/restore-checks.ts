/**
 * What `ckpt restart` checks before handing an image to the restore stub:
 * things the stub cannot judge well or explain well. Each failure is one
 * ImageError naming the image and exactly what is wrong. The stub itself
 * re-checks data checksums, CPU features and vDSO contents as it loads.
 */
import { statSync, type BigIntStats } from "node:fs";
import { release } from "node:os";
import { ImageError } from "./errors.ts";
import { CKPT_FD_FILE, CKPT_REGION_FILE_PRIVATE, CKPT_REGION_FILE_SHARED } from "./format.ts";
import { SPECIAL_NAMES } from "./image-header.ts";
import type { Fd, Image, Region } from "./image-types.ts";

/**
 * Only the owner may have written the image: the stub maps its bytes as
 * code and data, so an image others could modify is code others could run.
 */
export function checkImageFile(name: string, st: { uid: number; mode: number }, uid: number): void {
	if (st.uid !== uid)
		throw new ImageError(`${name}: owned by uid ${st.uid}, not by you (uid ${uid}); restart only images you created`);
	if ((st.mode & 0o022) !== 0)
		throw new ImageError(`${name}: writable by group or others, so it could have been altered; run: chmod 600 ${name}`);
}

/** Why a mapped file no longer matches what was recorded, or null. */
export function mappedFileChange(r: Region, st: BigIntStats | null): string | null {
	if (!st) return "no longer exists";
	if (st.ino !== r.ino) return `was replaced (inode ${r.ino}, now ${st.ino})`;
	if (st.size !== r.fileSize) return `changed size (${r.fileSize} bytes, now ${st.size})`;
	const sec = st.mtimeNs / 1_000_000_000n;
	const nsec = st.mtimeNs % 1_000_000_000n;
	if (sec !== r.mtimeSec || nsec !== r.mtimeNsec)
		return `was modified (mtime ${stamp(r.mtimeSec, r.mtimeNsec)}, now ${stamp(sec, nsec)})`;
	return null;
}

/** Every file a region maps must be the very file that was mapped. */
export function checkMappedFiles(image: Image, stat = statOrNull): void {
	const seen = new Set<string>();
	for (const r of image.regions) {
		if (r.kind !== CKPT_REGION_FILE_PRIVATE && r.kind !== CKPT_REGION_FILE_SHARED) continue;
		if (r.path === "" || seen.has(r.path)) continue;
		seen.add(r.path);
		const change = mappedFileChange(r, stat(r.path));
		if (change) throw new ImageError(`${image.path}: mapped file ${r.path} ${change} since the checkpoint`);
	}
}

/** Why an open file can no longer be reopened at its offset, or null. */
export function openFileProblem(f: Fd, st: BigIntStats | null): string | null {
	if (!st) return "no longer exists";
	if (st.isFile() && st.size < f.offset) return `is now ${st.size} bytes, shorter than the saved offset ${f.offset}`;
	return null;
}

/** Every file the program had open must still be there (and long enough). */
export function checkOpenFiles(image: Image, stat = statOrNull): void {
	for (const f of image.fds) {
		if (f.kind !== CKPT_FD_FILE || f.path === "") continue;
		const problem = openFileProblem(f, stat(f.path));
		if (problem) throw new ImageError(`${image.path}: fd ${f.fd}: ${f.path} ${problem}`);
	}
}

/**
 * Sizes of [vvar], [vvar_vclock] and [vdso] in a /proc/PID/maps text (0
 * when absent), in enum ckpt_special order.
 */
export function specialSizes(maps: string): bigint[] {
	const sizes = SPECIAL_NAMES.map(() => 0n);
	for (const line of maps.split("\n")) {
		const m = line.match(/^([0-9a-f]+)-([0-9a-f]+)\s.*\s(\[[a-z_]+\])\s*$/);
		if (!m) continue;
		const i = (SPECIAL_NAMES as readonly string[]).indexOf(m[3]!);
		if (i >= 0) sizes[i] = BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`);
	}
	return sizes;
}

/**
 * The stub moves this kernel's vvar/vdso to where the image had them, so
 * their sizes must agree (the libc in the image cached pointers into them).
 */
export function checkVdsoLayout(image: Image, maps: string): void {
	const here = specialSizes(maps);
	image.header.specials.forEach((s, i) => {
		const there = s.end - s.start;
		if (here[i] === there) return;
		const desc = (n: bigint) => (n === 0n ? "absent" : `${n} bytes`);
		throw new ImageError(
			`${image.path}: this kernel's vDSO layout differs from the image's (${s.name} is ${desc(here[i]!)} here, ` +
			`${desc(there)} in the image); restart on the kernel that took it (${image.header.kernelRelease}, this is ${release()})`);
	});
}

function statOrNull(path: string): BigIntStats | null {
	try {
		return statSync(path, { bigint: true });
	} catch {
		return null;
	}
}

/** UTC time with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
function stamp(sec: bigint, nsec: bigint): string {
	const date = new Date(Number(sec) * 1000);
	if (Number.isNaN(date.getTime())) return `${sec}.${nsec}`;
	return `${date.toISOString().slice(0, 19)}.${nsec.toString().padStart(9, "0")}Z`;
}
