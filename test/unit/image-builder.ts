/**
 * Builds small, valid ckpt images in memory for the reader's tests, laid
 * out as c/ckpt_format.h describes (header page, tables, page-aligned data),
 * plus helpers to poke a field and re-seal the checksums so a test can break
 * exactly one rule at a time.
 */
import { crc32c } from "../../src/image/crc32c.ts";
import {
	CKPT_ARCH_X86_64, CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_EXTENT_HOLE, CKPT_EXTENT_PARENT, CKPT_TRACKING_WRITE_PROTECT, LINK, CKPT_FD_FILE, CKPT_FD_INET_SOCKET, CKPT_FD_INHERIT, CKPT_FD_UNIX_SOCKET, CKPT_SOCK_UNBOUND,
	CKPT_FD_PIPE_READ, CKPT_HEADER_SIZE, CKPT_MAGIC, CKPT_PAGE_SIZE, CKPT_REGION_ANON,
	CKPT_LIBC_GLIBC, CKPT_MCE_KILL_DEFAULT, CKPT_TSC_ENABLE, CKPT_REGION_FILE_PRIVATE, CKPT_REGION_STACK, CKPT_VERSION, EXTENT, FD, HEADER, HEADER_STRUCT_SIZE,
	type Layout, PROCESS_STATE, REGION, RESUME_CTX, THREAD, MEMBER, CKPT_MEMBER_LIVE,
} from "../../src/image/format.ts";

/** Every built image's id, so a root image built here is its own tree's. */
export const TREE_ID = 0xa1n;

/**
 * A PARENT extent's place in links[link] (default 0): its bytes as they are
 * (storedLen defaults to the extent's length), or, with blockPages (version
 * 9), pages from blockPage on of a compressed block of storedLen bytes. crc
 * defaults to the CRC32C of the extent's pages filled with `fill`.
 */
export interface ParentSpec { link?: number; dataOffset: number; storedLen?: number; blockPages?: number; blockPage?: number; blockCrc?: number; crc?: number }
export interface ExtentSpec { pages: number; kind: number; fill?: number; parent?: ParentSpec }
/** An older image an incremental one reads from (the header's links, parent first). */
export interface LinkSpec { imageId: bigint; fileSize: bigint; headerCrc?: number }
export interface RegionSpec {
	start: bigint; kind: number; prot: number; flags?: number; path?: string;
	ino?: bigint; fileSize?: bigint; mtimeSec?: bigint; mtimeNsec?: bigint;
	extents: ExtentSpec[];
}
export interface FdSpec { fd: number; kind: number; path?: string; offset?: bigint; pipe?: Uint8Array; share?: [number, number] }
/** A process of the tree (version 6); a live one's image fields default to plausible values. */
export interface MemberSpec {
	pid: number; ppid: number; pgid?: number; sid?: number; kind: number; waitStatus?: number;
	file?: string; imageId?: bigint; fileSize?: bigint; headerCrc?: number; comm?: string; nthreads?: number;
}
/** A tree's root image (members) or a member's (treeId, rootPid); neither: a single process. */
export interface TreeSpec { pgid: number; sid: number; members?: MemberSpec[]; treeId?: bigint; rootPid?: number; ttyPgrp?: number }
export interface ImageSpec {
	exe: string; cwd: string; argv: string[];
	tids: number[]; regions: RegionSpec[]; fds: FdSpec[];
	specials: [bigint, bigint][]; // [start, end] for vvar, vvar_vclock, vdso
	tree?: TreeSpec;
	pid?: number; // 4242 unless set
	imageId?: bigint; // TREE_ID unless set
	links?: LinkSpec[]; // an incremental image's chain (tracking write-protect); none unless set
}

const PAGE = CKPT_PAGE_SIZE;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function defaultSpec(): ImageSpec {
	return {
		exe: "/usr/bin/demo",
		cwd: "/home/user",
		argv: ["demo", "--count", "3"],
		tids: [4242],
		regions: [
			{ start: 0x400000n, kind: CKPT_REGION_FILE_PRIVATE, prot: 5, path: "/usr/bin/demo", ino: 77n,
				fileSize: 8192n, mtimeSec: 1700000000n, mtimeNsec: 5n,
				extents: [{ pages: 1, kind: CKPT_EXTENT_FILE }, { pages: 1, kind: CKPT_EXTENT_DATA, fill: 0xab }] },
			{ start: 0x600000n, kind: CKPT_REGION_ANON, prot: 3, flags: 1,
				extents: [{ pages: 2, kind: CKPT_EXTENT_DATA, fill: 1 }, { pages: 3, kind: CKPT_EXTENT_HOLE }] },
			{ start: 0x7ffd00000000n, kind: CKPT_REGION_STACK, prot: 3,
				extents: [{ pages: 2, kind: CKPT_EXTENT_DATA, fill: 7 }] },
		],
		fds: [
			{ fd: 0, kind: CKPT_FD_INHERIT },
			{ fd: 3, kind: CKPT_FD_FILE, path: "/tmp/out.txt", offset: 10n },
			{ fd: 4, kind: CKPT_FD_PIPE_READ, pipe: new TextEncoder().encode("queued bytes") },
		],
		specials: [[0x7ffd10000000n, 0x7ffd10004000n], [0n, 0n], [0x7ffd10004000n, 0x7ffd10006000n]],
	};
}

class Writer {
	constructor(readonly view: DataView) {}
	set(layout: Layout<string>, base: number, field: string, v: number | bigint, i = 0) {
		const fl = layout.fields[field];
		if (!fl) throw new Error(`no field ${field}`);
		const at = base + fl.off + i * (fl.size / fl.count);
		const elem = fl.size / fl.count;
		if (elem === 8) this.view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
		else if (elem === 4) this.view.setUint32(at, Number(BigInt.asUintN(32, BigInt(v))), true);
		else if (elem === 2) this.view.setUint16(at, Number(v), true);
		else this.view.setUint8(at, Number(v));
	}
}

export function buildImage(spec: ImageSpec = defaultSpec()): Uint8Array {
	// Strings: offset 0 is "".
	const strBytes: number[] = [0];
	const addStr = (s: string) => {
		if (s === "") return 0;
		const off = strBytes.length;
		strBytes.push(...new TextEncoder().encode(s), 0);
		return off;
	};
	const exeStr = addStr(spec.exe);
	const cwdStr = addStr(spec.cwd);
	const argvStr = strBytes.length;
	for (const a of spec.argv) strBytes.push(...new TextEncoder().encode(a), 0);
	const argvLen = strBytes.length - argvStr;
	const regionPaths = spec.regions.map((r) => addStr(r.path ?? ""));
	const fdPaths = spec.fds.map((f) => addStr(f.path ?? ""));
	const members = spec.tree?.members ?? [];
	const memberFiles = members.map((m) => addStr(m.file ?? (m.kind === CKPT_MEMBER_LIVE ? `img.dat.00000000000000a1.${m.pid}` : "")));

	const nextents = spec.regions.reduce((n, r) => n + r.extents.length, 0);
	const threadsOff = 0;
	const regionsOff = threadsOff + spec.tids.length * THREAD.size;
	const extentsOff = regionsOff + spec.regions.length * REGION.size;
	const fdsOff = extentsOff + nextents * EXTENT.size;
	const stringsOff = fdsOff + spec.fds.length * FD.size;
	const tablesOffset = CKPT_HEADER_SIZE;
	const membersOff = alignUp(stringsOff + strBytes.length, 8); // after the (empty) timer to inotify tables
	const dataOffset = alignUp(tablesOffset + membersOff + members.length * MEMBER.size, PAGE);
	const tablesSize = dataOffset - tablesOffset; // with its zero padding

	// Data: every DATA extent, then every pipe buffer, back to back.
	let dataEnd = dataOffset;
	const dataPlan: { off: number; bytes: Uint8Array }[] = [];
	const place = (bytes: Uint8Array) => {
		const off = dataEnd;
		dataPlan.push({ off, bytes });
		dataEnd = off + bytes.length;
		return off;
	};
	const extentData = spec.regions.map((r) => r.extents.map((e) =>
		e.kind === CKPT_EXTENT_DATA ? place(new Uint8Array(e.pages * PAGE).fill(e.fill ?? 0)) : 0));
	const pipeData = spec.fds.map((f) => (f.pipe ? place(f.pipe) : 0));
	const fileSize = dataEnd;

	const out = new Uint8Array(fileSize);
	const w = new Writer(new DataView(out.buffer));
	out.set(new TextEncoder().encode(CKPT_MAGIC), 0);
	const H = (field: string, v: number | bigint, i = 0) => w.set(HEADER, 0, field, v, i);
	H("version", CKPT_VERSION);
	H("header_size", HEADER_STRUCT_SIZE);
	H("arch", CKPT_ARCH_X86_64);
	H("page_size", PAGE);
	H("file_size", fileSize);
	H("created_ns", 1_700_000_000_000_000_000n);
	H("capture_ns", 12_345_678n);
	H("pid", spec.pid ?? 4242);
	H("pgid", spec.tree?.pgid ?? 0);
	H("sid", spec.tree?.sid ?? 0);
	H("image_id", spec.imageId ?? TREE_ID);
	if (spec.links?.length) {
		H("tracking", CKPT_TRACKING_WRITE_PROTECT);
		H("nlinks", spec.links.length);
		spec.links.forEach((l, i) => {
			const b = HEADER.fields.links.off + i * LINK.size;
			w.set(LINK, b, "image_id", l.imageId);
			w.set(LINK, b, "file_size", l.fileSize);
			w.set(LINK, b, "header_crc", l.headerCrc ?? 0x5eed);
		});
	}
	if (spec.tree) {
		// A root image's tree id is its own image id; a member image's is its root's.
		H("tree_root_pid", spec.tree.rootPid ?? spec.pid ?? 4242);
		H("tree_id", spec.tree.treeId ?? (members.length ? TREE_ID : 0n));
		H("tty_pgrp", spec.tree.ttyPgrp ?? 0);
		H("nmembers", members.length);
	}
	H("members_off", membersOff);
	H("nthreads", spec.tids.length);
	H("nregions", spec.regions.length);
	H("nextents", nextents);
	H("nfds", spec.fds.length);
	H("strings_size", strBytes.length);
	H("tables_offset", tablesOffset);
	H("tables_size", tablesSize);
	H("data_offset", dataOffset);
	H("threads_off", threadsOff);
	H("regions_off", regionsOff);
	H("extents_off", extentsOff);
	H("fds_off", fdsOff);
	H("strings_off", stringsOff);
	// An empty timer table, after the strings as the writer places it.
	w.set(PROCESS_STATE, HEADER.fields.process.off, "timers_off", alignUp(stringsOff + strBytes.length, 8));
	H("locks_off", alignUp(stringsOff + strBytes.length, 8)); // no locks: an empty table after the strings
	// No pending signals: an empty signal table after the (empty) locks.
	w.set(PROCESS_STATE, HEADER.fields.process.off, "signals_off", alignUp(stringsOff + strBytes.length, 8));
	H("watches_off", alignUp(stringsOff + strBytes.length, 8)); // no epoll watches, after the signals
	H("inotify_off", alignUp(stringsOff + strBytes.length, 8)); // no inotify watches, after those
	out.set(new TextEncoder().encode("testhost"), HEADER.fields.hostname.off);
	out.set(new TextEncoder().encode("6.1.0-test"), HEADER.fields.kernel_release.off);
	out.set(new TextEncoder().encode("demo"), HEADER.fields.comm.off);
	H("exit_status_on_stop", 85);
	H("exe_str", exeStr);
	H("cwd_str", cwdStr);
	H("argv_str", argvStr);
	H("argv_len", argvLen);
	H("trigger_signal", 12);
	// libckpt's restart block, in writable memory as the restore stub requires.
	H("restart_info_addr", spec.regions.find((r) => r.prot & 2)?.start ?? 0n);
	H("libc", CKPT_LIBC_GLIBC);
	spec.specials.forEach(([s, e], i) => {
		H("special_start", s, i);
		H("special_end", e, i);
	});

	const t0 = tablesOffset;
	spec.tids.forEach((tid, i) => {
		const b = t0 + threadsOff + i * THREAD.size;
		w.set(THREAD, b, "tid", tid);
		w.set(THREAD, b, "fs_base", 0x7f0000001000n + BigInt(i));
		w.set(THREAD, b, "user_rip", 0x401000n);
		w.set(THREAD, b, "user_rsp", 0x7ffd00001000n);
		w.set(THREAD, b, "affinity", i === 0 ? 0x0f : 0x02); // the leader on CPUs 0-3, the others pinned to CPU 1
		w.set(THREAD, b, "affinity", 0x01, 1); // and CPU 8
		w.set(THREAD, b, "tsc_mode", CKPT_TSC_ENABLE);
		w.set(THREAD, b, "mce_kill", CKPT_MCE_KILL_DEFAULT);
		// Where libckpt's handler resumes: code and stack the image restores.
		w.set(RESUME_CTX, b + THREAD.fields.resume.off, "rip", 0x401000n);
		w.set(RESUME_CTX, b + THREAD.fields.resume.off, "rsp", 0x7ffd00001000n);
	});
	let ext = 0;
	spec.regions.forEach((r, i) => {
		const b = t0 + regionsOff + i * REGION.size;
		const pages = r.extents.reduce((n, e) => n + e.pages, 0);
		w.set(REGION, b, "start", r.start);
		w.set(REGION, b, "end", r.start + BigInt(pages * PAGE));
		w.set(REGION, b, "kind", r.kind);
		w.set(REGION, b, "prot", r.prot);
		w.set(REGION, b, "flags", r.flags ?? 0);
		w.set(REGION, b, "path_str", regionPaths[i]!);
		w.set(REGION, b, "ino", r.ino ?? 0n);
		w.set(REGION, b, "file_size", r.fileSize ?? 0n);
		w.set(REGION, b, "mtime_sec", r.mtimeSec ?? 0n);
		w.set(REGION, b, "mtime_nsec", r.mtimeNsec ?? 0n);
		w.set(REGION, b, "first_extent", ext);
		w.set(REGION, b, "nextents", r.extents.length);
		let addr = r.start;
		r.extents.forEach((e, j) => {
			const eb = t0 + extentsOff + ext * EXTENT.size;
			const len = e.pages * PAGE;
			w.set(EXTENT, eb, "start", addr);
			w.set(EXTENT, eb, "len", len);
			w.set(EXTENT, eb, "kind", e.kind);
			if (e.kind === CKPT_EXTENT_DATA) {
				const off = extentData[i]![j]!;
				w.set(EXTENT, eb, "data_offset", off);
				w.set(EXTENT, eb, "stored_len", len);
				w.set(EXTENT, eb, "crc", crc32c(new Uint8Array(len).fill(e.fill ?? 0)));
			}
			if (e.kind === CKPT_EXTENT_PARENT && e.parent) {
				const p = e.parent;
				w.set(EXTENT, eb, "link", p.link ?? 0);
				w.set(EXTENT, eb, "data_offset", p.dataOffset);
				w.set(EXTENT, eb, "stored_len", p.storedLen ?? len);
				w.set(EXTENT, eb, "crc", p.crc ?? crc32c(new Uint8Array(len).fill(e.fill ?? 0)));
				w.set(EXTENT, eb, "block_pages", p.blockPages ?? 0);
				w.set(EXTENT, eb, "block_page", p.blockPage ?? 0);
				w.set(EXTENT, eb, "block_crc", p.blockCrc ?? 0);
			}
			addr += BigInt(len);
			ext++;
		});
	});
	spec.fds.forEach((f, i) => {
		const b = t0 + fdsOff + i * FD.size;
		w.set(FD, b, "fd", f.fd);
		w.set(FD, b, "kind", f.kind);
		w.set(FD, b, "offset", f.offset ?? 0n);
		w.set(FD, b, "path_str", fdPaths[i]!);
		if (f.kind === CKPT_FD_UNIX_SOCKET || f.kind === CKPT_FD_INET_SOCKET) {
			w.set(FD, b, "sock_type", 1), w.set(FD, b, "sock_state", CKPT_SOCK_UNBOUND), w.set(FD, b, "peek_off", -1);
			w.set(FD, b, "sock_family", f.kind === CKPT_FD_UNIX_SOCKET ? 1 : 2);
		}
		if (f.share) w.set(FD, b, "share_pid", f.share[0]), w.set(FD, b, "share_fd", f.share[1]);
		if (f.pipe) {
			w.set(FD, b, "size", 65536); // the pipe's capacity holds what was unread
			w.set(FD, b, "pipe_len", f.pipe.length);
			w.set(FD, b, "pipe_data_offset", pipeData[i]!);
			w.set(FD, b, "pipe_crc", crc32c(f.pipe));
		}
	});
	members.forEach((m, i) => {
		const b = t0 + membersOff + i * MEMBER.size;
		const live = m.kind === CKPT_MEMBER_LIVE;
		w.set(MEMBER, b, "pid", m.pid), w.set(MEMBER, b, "ppid", m.ppid);
		w.set(MEMBER, b, "pgid", m.pgid ?? spec.tree!.pgid), w.set(MEMBER, b, "sid", m.sid ?? spec.tree!.sid);
		w.set(MEMBER, b, "kind", m.kind), w.set(MEMBER, b, "wait_status", m.waitStatus ?? 0);
		w.set(MEMBER, b, "image_id", m.imageId ?? (live ? 0x1000n + BigInt(m.pid) : 0n));
		w.set(MEMBER, b, "file_size", m.fileSize ?? (live ? 65536n : 0n));
		w.set(MEMBER, b, "header_crc", m.headerCrc ?? (live ? 0x1234 : 0));
		w.set(MEMBER, b, "file_str", memberFiles[i]!);
		w.set(MEMBER, b, "nthreads", m.nthreads ?? (live ? 1 : 0));
		out.set(new TextEncoder().encode(m.comm ?? "worker"), b + MEMBER.fields.comm.off);
	});
	out.set(strBytes, t0 + stringsOff);
	for (const d of dataPlan) out.set(d.bytes, d.off);
	return seal(out);
}

/** Recompute tables_crc and header_crc after a test changed some bytes. */
export function seal(img: Uint8Array): Uint8Array {
	const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
	const tOff = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true));
	const tSize = Number(v.getBigUint64(HEADER.fields.tables_size.off, true));
	if (tOff + tSize <= img.length)
		v.setUint32(HEADER.fields.tables_crc.off, crc32c(img.subarray(tOff, tOff + tSize)), true);
	v.setUint32(HEADER.fields.header_crc.off, 0, true);
	v.setUint32(HEADER.fields.header_crc.off, crc32c(img.subarray(0, CKPT_HEADER_SIZE)), true);
	return img;
}

/** Set one field of one record (base = record's offset in the file), then re-seal. */
export function poke(img: Uint8Array, layout: Layout<string>, base: number, field: string, v: number | bigint, i = 0) {
	new Writer(new DataView(img.buffer, img.byteOffset, img.byteLength)).set(layout, base, field, v, i);
	return seal(img);
}

/** File offset of record `i` of a table, for poke(). */
export function recordOffset(img: Uint8Array, table: "threads" | "regions" | "extents" | "fds" | "members", i: number) {
	const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
	const tOff = Number(v.getBigUint64(HEADER.fields.tables_offset.off, true));
	const off = table === "members" ? v.getUint32(HEADER.fields.members_off.off, true) : Number(v.getBigUint64(HEADER.fields[`${table}_off`].off, true));
	const size = { threads: THREAD.size, regions: REGION.size, extents: EXTENT.size, fds: FD.size, members: MEMBER.size }[table];
	return tOff + off + i * size;
}

