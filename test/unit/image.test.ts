import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
	CKPT_CODEC_LZ4, CKPT_CODEC_MAX,
	CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_EXTENT_GUARD, CKPT_EXTENT_HOLE, CKPT_EXTENT_PARENT, CKPT_FD_PIPE_READ, CKPT_HEADER_SIZE,
	CKPT_VERSION, EXTENT, FD, HEADER, REGION, THREAD,
} from "../../src/image/format.ts";
import { ImageError, readImage, verifyData } from "../../src/image/read.ts";
import { fdFlags } from "../../src/image/facts.ts";
import { buildImage, defaultSpec, poke, recordOffset, seal } from "./image-builder.ts";
import { imageFiles } from "./image-files.ts";

const { dir, write, failure } = imageFiles("ckpt-image-");


describe("a valid image", () => {
	const img = readImage(write(buildImage()));

	test("decodes the header", () => {
		expect(img.header.version).toBe(CKPT_VERSION);
		expect(img.header.pid).toBe(4242);
		expect(img.header.hostname).toBe("testhost");
		expect(img.header.kernelRelease).toBe("6.1.0-test");
		expect(img.header.comm).toBe("demo");
		expect(img.header.triggerSignal).toBe(12);
		expect(img.header.specials.map((s) => s.name)).toEqual(["[vvar]", "[vvar_vclock]", "[vdso]"]);
		expect(img.header.specials[2]!.end - img.header.specials[2]!.start).toBe(0x2000n);
	});

	test("decodes strings and argv", () => {
		expect(img.exe).toBe("/usr/bin/demo");
		expect(img.cwd).toBe("/home/user");
		expect(img.argv).toEqual(["demo", "--count", "3"]);
	});

	test("decodes regions with their extents", () => {
		expect(img.regions.map((r) => r.start)).toEqual([0x400000n, 0x600000n, 0x7ffd00000000n]);
		expect(img.regions[0]!.path).toBe("/usr/bin/demo");
		expect(img.regions[0]!.ino).toBe(77n);
		expect(img.regions[0]!.extents.map((e) => e.kind)).toEqual([CKPT_EXTENT_FILE, CKPT_EXTENT_DATA]);
		expect(img.regions[1]!.extents.map((e) => e.len)).toEqual([8192, 12288]);
	});

	test("decodes fds and threads", () => {
		expect(img.fds.map((f) => f.fd)).toEqual([0, 3, 4]);
		expect(img.fds[1]!.path).toBe("/tmp/out.txt");
		expect(img.fds[1]!.offset).toBe(10n);
		expect(img.fds[2]!.pipeLen).toBe(12);
		expect(img.threads.map((t) => t.tid)).toEqual([4242]);
		expect(img.threads[0]!.userRip).toBe(0x401000n);
		expect(img.threads[0]!.cpus).toEqual([0, 1, 2, 3, 8]); // CPU n is bit n % 8 of byte n / 8
	});

	test("verifyData checks every DATA extent and pipe buffer", () => {
		expect(verifyData(img)).toEqual({ items: 4, bytes: 5 * 4096 + 12 });
	});
});

describe("readImage refuses", () => {
	test("a missing file", () => {
		expect(() => readImage(join(dir, "nope.dat"))).toThrow(/nope\.dat: cannot open \(no such file\)$/);
	});

	test("a directory", () => {
		expect(() => readImage(dir)).toThrow(/is a directory/);
	});

	test("an empty file", () => {
		expect(failure(new Uint8Array(0))).toBe("not a ckpt image (empty file)");
	});

	test("bad magic", () => {
		expect(failure(new TextEncoder().encode("#!/bin/sh\necho hi\n"))).toBe("not a ckpt image (bad magic)");
	});

	test("another version", () => {
		const img = buildImage();
		new DataView(img.buffer).setUint32(HEADER.fields.version.off, CKPT_VERSION + 1, true);
		expect(failure(img)).toBe(`unsupported image version ${CKPT_VERSION + 1} (this ckpt reads version ${CKPT_VERSION})`);
	});

	test("a C library it does not know (the stub refuses it in the same words)", () => {
		for (const libc of [0n, 3n])
			expect(failure(poke(buildImage(), HEADER, 0, "libc", libc))).toBe("unknown C library (corrupt image)");
	});

	test("another machine", () => {
		const img = buildImage();
		new DataView(img.buffer).setUint32(HEADER.fields.arch.off, 183, true);
		expect(failure(img)).toBe("image is for another machine (ELF machine 183, not x86-64)");
	});

	test("a truncated header", () => {
		const img = buildImage();
		expect(failure(img.slice(0, 4096))).toBe(`truncated (header says ${img.length} bytes, file has 4096)`);
		expect(failure(img.slice(0, 100))).toBe(`truncated (header says ${img.length} bytes, file has 100)`);
		expect(failure(img.slice(0, 20))).toBe("truncated (file has 20 bytes, less than a header)");
	});

	test("a truncated or extended file", () => {
		const img = buildImage();
		expect(failure(img.slice(0, img.length - 4096))).toBe(
			`truncated (header says ${img.length} bytes, file has ${img.length - 4096})`);
		const longer = new Uint8Array(img.length + 1);
		longer.set(img);
		expect(failure(longer)).toBe(`extended (header says ${img.length} bytes, file has ${img.length + 1})`);
	});

	test("a corrupt header", () => {
		const img = buildImage();
		img[HEADER.fields.hostname.off]! ^= 1;
		expect(failure(img)).toBe("header checksum mismatch (corrupt image)");
	});

	test("corrupt tables", () => {
		const img = buildImage();
		img[CKPT_HEADER_SIZE + 8]! ^= 1;
		expect(failure(img)).toBe("tables checksum mismatch (corrupt image)");
	});

	test("tables outside the file", () => {
		const img = buildImage();
		const h = (f: keyof typeof HEADER.fields, v: bigint) => poke(img.slice(), HEADER, 0, f, v);
		expect(failure(h("tables_size", 1n << 40n))).toMatch(/^tables \[4096, \+1099511627776\) lie outside the file$/);
		expect(failure(h("tables_offset", 0n))).toMatch(/lie outside the file/);
		expect(failure(h("tables_offset", (1n << 64n) - 8n))).toMatch(/lie outside the file/);
		expect(failure(h("data_offset", 4097n))).toMatch(/^data offset 4097 is misplaced/);
	});

	test("counts that do not fit their tables", () => {
		const img = buildImage();
		expect(failure(poke(img.slice(), HEADER, 0, "nregions", 0xffffffff))).toMatch(new RegExp(`^region table \\(4294967295 x ${REGION.size} bytes`));
		expect(failure(poke(img.slice(), HEADER, 0, "fds_off", 3))).toMatch(/^fd table .* does not fit/);
		expect(failure(poke(img.slice(), HEADER, 0, "regions_off", 0))).toMatch(/^region table/);
		expect(failure(poke(img.slice(), HEADER, 0, "nthreads", 0))).toBe("image has no threads (corrupt image)");
	});

	test("a thread's rdtsc mode or machine-check policy outside what prctl gives", () => {
		const img = buildImage();
		const t0 = recordOffset(img, "threads", 0);
		const thread = (field: string, v: number) => failure(poke(img.slice(), THREAD, t0, field, v));
		const bad = "thread 0: its time-stamp counter mode or machine-check policy is invalid (corrupt image)";
		expect(thread("tsc_mode", 0)).toBe(bad);
		expect(thread("tsc_mode", 3)).toBe(bad);
		expect(thread("mce_kill", 3)).toBe(bad);
		const accepted = (field: string, v: number) => readImage(write(poke(img.slice(), THREAD, t0, field, v))).threads[0];
		expect(accepted("tsc_mode", 2)?.tscMode).toBe(2); // PR_TSC_SIGSEGV
		expect(accepted("mce_kill", 1)?.mceKill).toBe(1); // PR_MCE_KILL_EARLY
	});

	test("an O_ASYNC owner or signal that is not one, or an owner without O_ASYNC (format 14)", () => {
		const img = buildImage();
		const f3 = recordOffset(img, "fds", 1);
		const asyncOn = poke(img.slice(), FD, f3, "open_flags", 0o20002); // O_RDWR|O_ASYNC
		expect(failure(poke(asyncOn.slice(), FD, f3, "async_owner", 5))).toMatch(/^fd 3: an O_ASYNC owner or signal that is not one/);
		expect(failure(poke(poke(asyncOn.slice(), FD, f3, "async_owner", 2), FD, f3, "async_signal", 65))).toMatch(/^fd 3: an O_ASYNC owner or signal/);
		expect(failure(poke(img.slice(), FD, f3, "async_owner", 2))).toMatch(/^fd 3: an O_ASYNC owner on a descriptor without O_ASYNC/);
		const aimed = readImage(write(poke(poke(asyncOn.slice(), FD, f3, "async_owner", 2), FD, f3, "async_signal", 40))).fds[1]!;
		expect(aimed.async).toEqual({ owner: 2, signal: 40 });
		expect(fdFlags(aimed)).toBe("O_RDWR|O_ASYNC(signal 40 to itself)");
		expect(readImage(write(img.slice())).fds[1]!.async).toBeNull();
	});

	test("unterminated or out-of-range strings", () => {
		const img = buildImage();
		expect(failure(poke(img.slice(), HEADER, 0, "exe_str", 100000))).toMatch(/^exe: string offset 100000 out of range/);
		expect(failure(poke(img.slice(), HEADER, 0, "argv_len", 3))).toMatch(/^argv string/);
		const size = new DataView(img.buffer).getUint32(HEADER.fields.strings_size.off, true);
		expect(failure(poke(img.slice(), HEADER, 0, "strings_size", size - 1))).toBe(
			"string table is not NUL-terminated (corrupt image)");
	});

	test("unsorted, overlapping or misaligned regions", () => {
		const img = buildImage();
		const r1 = recordOffset(img, "regions", 1);
		expect(failure(poke(img.slice(), REGION, r1, "start", 0x600001n))).toMatch(/^region 1 \(0x600001-0x605000\): not page aligned/);
		expect(failure(poke(img.slice(), REGION, r1, "start", 0x401000n))).toMatch(/overlaps the previous region/);
		expect(failure(poke(img.slice(), REGION, r1, "end", 0x600000n))).toMatch(/empty or inverted/);
		expect(failure(poke(img.slice(), REGION, r1, "kind", 9))).toMatch(/unknown kind 9/);
		const last = recordOffset(img, "regions", 2);
		expect(failure(poke(img.slice(), REGION, last, "end", 0x800000000000n))).toMatch(/beyond user space/);
	});

	test("extents that do not tile their region", () => {
		const img = buildImage();
		const r1 = recordOffset(img, "regions", 1);
		expect(failure(poke(img.slice(), REGION, r1, "end", 0x606000n))).toMatch(/extents end at 0x605000, not at the region end/);
		expect(failure(poke(img.slice(), REGION, r1, "nextents", 1))).toMatch(/extents end at/);
		expect(failure(poke(img.slice(), REGION, r1, "first_extent", 3))).toMatch(/extents not grouped in order/);
		const e2 = recordOffset(img, "extents", 2);
		expect(failure(poke(img.slice(), EXTENT, e2, "start", 0x601000n))).toMatch(/extent 0 starts at 0x601000, expected 0x600000/);
		expect(failure(poke(img.slice(), EXTENT, e2, "len", 100))).toMatch(/extent 0 has bad length 100/);
		expect(failure(poke(img.slice(), EXTENT, e2, "kind", 7))).toMatch(/unknown kind 7/);
		expect(failure(poke(img.slice(), EXTENT, e2, "kind", CKPT_EXTENT_PARENT + 1))).toMatch(/unknown kind 6/);
		expect(failure(poke(img.slice(), EXTENT, e2, "kind", CKPT_EXTENT_FILE))).toMatch(/refers to a file in a non-file region/);
		expect(failure(poke(img.slice(), HEADER, 0, "nextents", 4))).toMatch(/do not fit the 4 extents/);
	});

	test("extents that are never used", () => {
		const spec = defaultSpec();
		const img = buildImage(spec);
		// Claim one fewer extent for the last region: the final extent is orphaned.
		const last = recordOffset(img, "regions", 2);
		poke(img, REGION, last, "nextents", 0);
		expect(failure(img)).toMatch(/^region 2 .*: 0 extents/);
	});

	test("guard extents (format 2) are read in any region, without data", () => {
		const spec = defaultSpec();
		spec.regions[1]!.extents = [{ pages: 2, kind: CKPT_EXTENT_DATA, fill: 1 }, { pages: 1, kind: CKPT_EXTENT_GUARD },
			{ pages: 2, kind: CKPT_EXTENT_HOLE }];
		spec.regions[0]!.extents = [{ pages: 1, kind: CKPT_EXTENT_GUARD }, { pages: 1, kind: CKPT_EXTENT_FILE }];
		const img = readImage(write(buildImage(spec)));
		expect(img.regions[1]!.extents.map((e) => [e.kind, e.len])).toEqual([[1, 8192], [4, 4096], [2, 8192]]);
		expect(img.regions[0]!.extents.map((e) => e.kind)).toEqual([CKPT_EXTENT_GUARD, CKPT_EXTENT_FILE]);
	});

	test("data outside the file", () => {
		const img = buildImage();
		const e2 = recordOffset(img, "extents", 2);
		expect(failure(poke(img.slice(), EXTENT, e2, "data_offset", BigInt(img.length)))).toMatch(/data \[\d+, \+8192\) lies outside the data area/);
		expect(failure(poke(img.slice(), EXTENT, e2, "data_offset", 0n))).toMatch(/lies outside the data area/);
		expect(failure(poke(img.slice(), EXTENT, e2, "data_offset", 8193n))).toMatch(/lies outside the data area/);
		const f2 = recordOffset(img, "fds", 2);
		expect(failure(poke(img.slice(), FD, f2, "pipe_len", img.length))).toMatch(/^fd 4: pipe data/);
	});

	test("stored lengths (format 5): compressed only with a codec and at most one block, never longer than the memory", () => {
		const img = buildImage();
		const e2 = recordOffset(img, "extents", 2);
		expect(failure(poke(img.slice(), EXTENT, e2, "stored_len", 8193n))).toMatch(/extent 0 stores 8193 bytes for 8192/);
		expect(failure(poke(img.slice(), EXTENT, e2, "stored_len", 100n))).toMatch(/extent 0 stores 100 bytes for 8192/);
		const packed = poke(img.slice(), HEADER, 0, "codec", CKPT_CODEC_LZ4);
		expect(failure(poke(packed.slice(), HEADER, 0, "codec", CKPT_CODEC_MAX + 1))).toMatch(/unknown compression codec/);
		// With a codec, a shorter block is fine, and so is data off a page boundary.
		const at = readImage(write(img)).regions[1]!.extents[0]!.dataOffset;
		const shorter = poke(poke(packed.slice(), EXTENT, e2, "stored_len", 100n), EXTENT, e2, "data_offset", at + 1);
		expect(readImage(write(shorter)).regions[1]!.extents[0]).toMatchObject({ storedLen: 100, dataOffset: at + 1 });
		expect(failure(poke(img.slice(), EXTENT, e2, "data_offset", at + 1))).toMatch(/lies outside the data area/);
	});

	test("unsorted fds", () => {
		const img = buildImage();
		expect(failure(poke(img.slice(), FD, recordOffset(img, "fds", 1), "fd", 0))).toMatch(/^fd 0: fds not sorted/);
		expect(failure(poke(img.slice(), FD, recordOffset(img, "fds", 1), "kind", 0))).toMatch(/^fd 3: unknown kind 0/);
	});
});

test("verifyData names a corrupt extent", () => {
	const img = buildImage();
	const region = readImage(write(img)).regions[1]!;
	img[region.extents[0]!.dataOffset + 5]! ^= 0xff;
	const p = write(img);
	expect(() => verifyData(readImage(p))).toThrow(`${p}: memory at 0x600000 (+8192): data checksum mismatch (corrupt image)`);
});

test("verifyData names a corrupt pipe buffer", () => {
	const spec = defaultSpec();
	const img = buildImage(spec);
	const fd = readImage(write(img)).fds.find((f) => f.kind === CKPT_FD_PIPE_READ)!;
	img[fd.pipeDataOffset]! ^= 1;
	expect(() => verifyData(readImage(write(img)))).toThrow(/pipe contents of fd 4: data checksum mismatch/);
});

test("regions without data (anonymous holes only) are fine", () => {
	const spec = defaultSpec();
	// Still code and a stack to resume on (the restore stub insists), but not a stored byte.
	spec.regions = spec.regions.map((r) => ({ ...r, extents: r.extents.map((e) => ({ ...e, kind: e.kind === 1 ? 2 : e.kind })) }));
	spec.fds = [];
	const image = readImage(write(buildImage(spec)));
	expect(image.regions.length).toBe(3);
	expect(verifyData(image)).toEqual({ items: 0, bytes: 0 });
});

test("arbitrary bytes never crash or hang the reader", () => {
	const base = buildImage();
	let seed = 12345;
	const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
	for (let round = 0; round < 400; round++) {
		const img = base.slice();
		const flips = 1 + (rand() % 8);
		for (let i = 0; i < flips; i++) {
			// Mostly hit the header and tables, where the structure is.
			const at = rand() % (rand() % 4 === 0 ? img.length : CKPT_HEADER_SIZE + 1024);
			img[at] = rand() & 0xff;
		}
		if (round % 2) seal(img);
		const p = write(img);
		try {
			readImage(p);
		} catch (e) {
			if (!(e instanceof ImageError)) throw e;
		}
		rmSync(p);
	}
});
