import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageError } from "../../src/errors.ts";
import { CKPT_EXTENT_FILE, CKPT_FD_FILE, CKPT_REGION_FILE_PRIVATE } from "../../src/format.ts";
import type { Image } from "../../src/image.ts";
import { readImage } from "../../src/image.ts";
import {
	checkImageFile, checkMappedFiles, checkOpenFiles, checkVdsoLayout, mappedFileChange, specialSizes,
} from "../../src/restore-checks.ts";
import { buildImage, defaultSpec } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-restore-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An image mapping `mapped` (as it is now) and holding `opened` open at offset 10. */
function imageFor(mapped: string, opened: string): Image {
	const st = statSync(mapped, { bigint: true });
	const spec = defaultSpec();
	spec.regions[0] = {
		start: 0x400000n, kind: CKPT_REGION_FILE_PRIVATE, prot: 5, path: mapped, ino: st.ino, fileSize: st.size,
		mtimeSec: st.mtimeNs / 1_000_000_000n, mtimeNsec: st.mtimeNs % 1_000_000_000n,
		extents: [{ pages: 1, kind: CKPT_EXTENT_FILE }],
	};
	spec.fds = [{ fd: 3, kind: CKPT_FD_FILE, path: opened, offset: 10n }];
	const p = join(dir, "img.dat");
	writeFileSync(p, buildImage(spec));
	return readImage(p);
}

test("image file ownership and permissions", () => {
	expect(() => checkImageFile("a.dat", { uid: 1000, mode: 0o100600 }, 1000)).not.toThrow();
	expect(() => checkImageFile("a.dat", { uid: 1000, mode: 0o100644 }, 1000)).not.toThrow();
	expect(() => checkImageFile("a.dat", { uid: 1001, mode: 0o100600 }, 1000)).toThrow(/owned by uid 1001, not by you/);
	expect(() => checkImageFile("a.dat", { uid: 1000, mode: 0o100664 }, 1000)).toThrow("a.dat: writable by group or others, so it could have been altered; run: chmod 600 a.dat");
	expect(() => checkImageFile("a.dat", { uid: 1000, mode: 0o100606 }, 1000)).toThrow(ImageError);
});

test("mapped files must be unchanged", () => {
	const lib = join(dir, "lib.so");
	const out = join(dir, "out.txt");
	writeFileSync(lib, "x".repeat(100));
	writeFileSync(out, "0123456789abc");
	const image = imageFor(lib, out);
	expect(() => checkMappedFiles(image)).not.toThrow();
	expect(() => checkOpenFiles(image)).not.toThrow();

	utimesSync(lib, new Date(), new Date(Date.now() + 5000));
	expect(() => checkMappedFiles(image)).toThrow(new RegExp(`mapped file ${lib} was modified \\(mtime .*Z, now .*Z\\) since the checkpoint$`));
	writeFileSync(lib, "x".repeat(101));
	expect(() => checkMappedFiles(image)).toThrow(/changed size \(100 bytes, now 101\)/);
	rmSync(lib);
	expect(() => checkMappedFiles(image)).toThrow(`${image.path}: mapped file ${lib} no longer exists since the checkpoint`);
});

test("a replaced file is told apart by its inode", () => {
	const lib = join(dir, "lib4.so");
	writeFileSync(lib, "abc");
	const region = imageFor(lib, lib).regions[0]!;
	const st = statSync(lib, { bigint: true });
	expect(mappedFileChange(region, st)).toBeNull();
	const other = Object.assign(Object.create(Object.getPrototypeOf(st)), st, { ino: st.ino + 1n });
	expect(mappedFileChange(region, other)).toBe(`was replaced (inode ${st.ino}, now ${st.ino + 1n})`);
	expect(mappedFileChange(region, null)).toBe("no longer exists");
});

test("open files must exist and reach the saved offset", () => {
	const lib = join(dir, "lib2.so");
	const out = join(dir, "out2.txt");
	writeFileSync(lib, "");
	writeFileSync(out, "0123456789abc");
	const image = imageFor(lib, out);
	writeFileSync(out, "0123");
	expect(() => checkOpenFiles(image)).toThrow(`${image.path}: fd 3: ${out} is now 4 bytes, shorter than the saved offset 10`);
	rmSync(out);
	expect(() => checkOpenFiles(image)).toThrow(`${image.path}: fd 3: ${out} no longer exists`);
});

const MAPS = `7f936b228000-7f936b22c000 r--p 00000000 00:00 0                          [vvar]
7f936b22c000-7f936b22e000 r--p 00000000 00:00 0                          [vvar_vclock]
7f936b22e000-7f936b230000 r-xp 00000000 00:00 0                          [vdso]
7ffd10000000-7ffd10021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

test("special mapping sizes from /proc/self/maps", () => {
	expect(specialSizes(MAPS)).toEqual([0x4000n, 0x2000n, 0x2000n]);
	expect(specialSizes("")).toEqual([0n, 0n, 0n]);
});

test("the vDSO layout must match the image's", () => {
	const lib = join(dir, "lib3.so");
	writeFileSync(lib, "");
	const image = imageFor(lib, lib); // default spec: [vvar] 16 KiB, no [vvar_vclock], [vdso] 8 KiB
	const older = MAPS.split("\n").filter((l) => !l.includes("vclock")).join("\n");
	expect(() => checkVdsoLayout(image, older)).not.toThrow();
	expect(() => checkVdsoLayout(image, MAPS)).toThrow(/\[vvar_vclock\] is 8192 bytes here, absent in the image\); restart on the kernel that took it \(6\.1\.0-test, this is /);
});
