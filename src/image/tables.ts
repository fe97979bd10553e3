/**
 * Checking and decoding the tables (threads, regions, extents, fds, strings, timers, locks, signals, epoll watches, members)
 * once their checksum has matched. The checks are the promises the restore
 * stub relies on without re-checking them: every record inside the tables,
 * every string terminated, regions sorted and disjoint, each region tiled
 * exactly by its extents, and all stored data inside the file.
 */
import { ImageError } from "../cli/errors.ts";
import { Fields, utf8 } from "./fields.ts";
import { decodeThread } from "./thread-table.ts";
import {
	CKPT_CODEC_NONE, CKPT_COMPRESS_BLOCK, CKPT_LOWEST_ADDRESS, CKPT_MAX_FD,
	CKPT_FD_DELETED, CKPT_FD_EPOLL, CKPT_FD_INET_SOCKET, CKPT_FD_MEMFD, CKPT_FD_UNIX_SOCKET, CKPT_PAGE_SIZE, CKPT_SIGNAL_PROCESS, EPOLL_WATCH, EXTENT, FD, INOTIFY_WATCH, LOCK, REGION, SIGNAL, TERMIOS,
	THREAD, TIMER, MEMBER,
	CKPT_EXTENT_PARENT, CKPT_HEADER_SIZE, CKPT_ASYNC_NONE, CKPT_ASYNC_OWNER_MAX, CKPT_MAX_SIGNALS,
} from "./format.ts";

const O_ASYNC = 0o20000;
import { isThreadCpuClock, validTime } from "./clocks.ts";
import { decodeTermios, USER_SPACE_END } from "./header.ts";
import { allBits, EXTENT_KINDS, FD_KINDS, LOCK_KINDS, REGION_FLAGS, REGION_KINDS, VM_FLAGS } from "./kinds.ts";
import { checkRestorePoints, mempolicyValid, tidWord } from "./restore-points.ts";
import { decodeInotifyWatches } from "./inotify.ts";
import { decodeMembers, firstHolderProblem, reopenProblem } from "./tree.ts";
import { regionRecordProblem } from "./sysv-shm.ts";
import type { EpollWatch, Extent, Fd, Header, Lock, PendingSignal, Region, Tables, Timer } from "./types.ts";

const PAGE = BigInt(CKPT_PAGE_SIZE);
const REGION_FLAG_BITS = allBits(REGION_FLAGS);
const VM_FLAG_BITS = BigInt(allBits(VM_FLAGS));
const hex = (v: bigint) => `0x${v.toString(16)}`;

export function decodeTables(name: string, h: Header, tables: Uint8Array): Tables {
	const fail = (why: string): never => {
		throw new ImageError(`${name}: ${why}`);
	};
	const view = new DataView(tables.buffer, tables.byteOffset, tables.byteLength);

	// Each table must sit inside the tables, 8-byte aligned, in the documented order.
	const layout: [string, number, number, number][] = [
		["thread", h.threadsOff, h.nthreads, THREAD.size],
		["region", h.regionsOff, h.nregions, REGION.size],
		["extent", h.extentsOff, h.nextents, EXTENT.size],
		["fd", h.fdsOff, h.nfds, FD.size],
		["string", h.stringsOff, h.stringsSize, 1],
		["timer", h.process.timersOff, h.process.ntimers, TIMER.size],
		["lock", h.locksOff, h.nlocks, LOCK.size],
		["signal", h.process.signalsOff, h.process.nsignals, SIGNAL.size],
		["epoll watch", h.watchesOff, h.nwatches, EPOLL_WATCH.size],
		["inotify watch", h.inotifyOff, h.ninotify, INOTIFY_WATCH.size],
		// a tree's root image only (version 6): no table, no place to check
		...(h.nmembers > 0 ? [["member", h.membersOff, h.nmembers, MEMBER.size] as [string, number, number, number]] : []),
	];
	let prevEnd = 0;
	for (const [what, off, count, size] of layout) {
		const end = off + count * size;
		if (off % 8 !== 0 || off < prevEnd || end > h.tablesSize)
			fail(`${what} table (${count} x ${size} bytes at ${off}) does not fit the tables (corrupt image)`);
		prevEnd = end;
	}
	if (h.nthreads === 0) fail("image has no threads (corrupt image)");
	if (h.nregions === 0) fail("image has no memory regions (corrupt image)");

	const strings = tables.subarray(h.stringsOff, h.stringsOff + h.stringsSize);
	if (strings.length === 0 || strings[0] !== 0 || strings[strings.length - 1] !== 0)
		fail("string table is not NUL-terminated (corrupt image)");
	const str = (off: number, what: () => string): string => {
		if (off >= strings.length) fail(`${what()}: string offset ${off} out of range (corrupt image)`);
		return utf8.decode(strings.subarray(off, strings.indexOf(0, off)));
	};

	if (h.argvStr >= strings.length || h.argvStr + h.argvLen > strings.length || (h.argvLen > 0 && strings[h.argvStr + h.argvLen - 1] !== 0))
		fail("argv string out of range or not NUL-terminated (corrupt image)");
	const argvBytes = strings.subarray(h.argvStr, h.argvStr + h.argvLen);
	const argv = h.argvLen === 0 ? [] : utf8.decode(argvBytes.subarray(0, -1)).split("\0");

	const threads = Array.from({ length: h.nthreads }, (_, i) =>
		decodeThread(new Fields(view, h.threadsOff + i * THREAD.size, THREAD)));

	const extentAt = (i: number) => new Fields(view, h.extentsOff + i * EXTENT.size, EXTENT);
	const regions: Region[] = [];
	let prevRegionEnd = BigInt(CKPT_LOWEST_ADDRESS);
	let nextExtent = 0;
	for (let i = 0; i < h.nregions; i++) {
		const r = new Fields(view, h.regionsOff + i * REGION.size, REGION);
		const start = r.u64("start");
		const end = r.u64("end");
		// Built only when needed: formatting it for every region costs more than the checks.
		const where = () => `region ${i} (${hex(start)}-${hex(end)})`;
		const bad = (why: string): never => fail(`${where()}: ${why} (corrupt image)`);
		if (start % PAGE !== 0n || end % PAGE !== 0n) bad("not page aligned");
		if (start >= end) bad("empty or inverted");
		if (end > USER_SPACE_END) bad("beyond user space");
		if (start < prevRegionEnd) bad("overlaps the previous region or is out of order");
		const kind = r.u32("kind");
		const regionKind = REGION_KINDS.of(kind) ?? bad(`unknown kind ${kind}`);
		if ((r.u32("prot") & ~7) !== 0) bad(`unknown protection bits 0x${r.u32("prot").toString(16)}`);
		if ((r.u32("flags") & ~REGION_FLAG_BITS) !== 0) bad("unknown flags");
		const vmFlags = r.u64("vm_flags");
		if ((vmFlags & ~VM_FLAG_BITS) !== 0n) bad(`unknown VM flags 0x${vmFlags.toString(16)}`);
		const mempolicy = r.u32("mempolicy"), mempolicyNodes = r.u64("mempolicy_nodes");
		if (!mempolicyValid(mempolicy, r.u32("pad_mempolicy"), mempolicyNodes)) bad("invalid memory policy");
		const first = r.u32("first_extent");
		const n = r.u32("nextents");
		if (first !== nextExtent) bad(`extents not grouped in order (first ${first}, expected ${nextExtent})`);
		if (n === 0 || first + n > h.nextents) bad(`${n} extents from ${first} do not fit the ${h.nextents} extents`);

		const isFile = regionKind.file;
		if (isFile && (r.u32("path_str") === 0 || r.u64("file_offset") % PAGE !== 0n)) bad("a file mapping without a path or at an unaligned offset");
		const extents: Extent[] = [];
		let cursor = start;
		for (let j = 0; j < n; j++) {
			const e = extentAt(first + j);
			const eStart = e.u64("start");
			const len = e.u64("len");
			const eKind = e.u16("kind");
			const link = e.u16("link"); // shares the kind's 32-bit word: 0 for every kind but PARENT
			if (eStart !== cursor) bad(`extent ${j} starts at ${hex(eStart)}, expected ${hex(cursor)}`);
			if (len === 0n || len % PAGE !== 0n || eStart + len > end) bad(`extent ${j} has bad length ${len}`);
			const extentKind = EXTENT_KINDS.of(eKind) ?? bad(`extent ${j} has unknown kind ${eKind}`);
			if (link !== 0 && eKind !== CKPT_EXTENT_PARENT) bad(`extent ${j} has unknown kind ${eKind} with link ${link}`);
			if (extentKind.fromFile && !isFile) bad(`extent ${j} refers to a file in a non-file region`);
			const blockPages = e.u16("block_pages");
			const blockPage = e.u16("block_page");
			const blockCrc = e.u32("block_crc");
			// version 9: a place in an older image's compressed block, a PARENT extent's only
			if ((blockPages !== 0 || blockPage !== 0 || blockCrc !== 0) && !extentKind.inOlderImage)
				bad(`extent ${j} (${extentKind.text}) has the fields of a compressed block`);
			let dataOffset = 0;
			let storedLen = 0;
			if (extentKind.inImage) {
				const off = e.u64("data_offset");
				const stored = e.u64("stored_len");
				// compressed (stored < len): a block of the header's codec, at most one block long
				if (stored > len || (stored < len && (h.codec === CKPT_CODEC_NONE || len > BigInt(CKPT_COMPRESS_BLOCK))))
					bad(`extent ${j} stores ${stored} bytes for ${len}`);
				if ((h.codec === CKPT_CODEC_NONE && off % PAGE !== 0n) || off < BigInt(h.dataOffset) || off + stored > BigInt(h.fileSize))
					bad(`extent ${j} data [${off}, +${stored}) lies outside the data area`);
				dataOffset = Number(off);
				storedLen = Number(stored);
			} else if (extentKind.inOlderImage) {
				const off = e.u64("data_offset");
				const stored = e.u64("stored_len");
				const older = h.links[link];
				if (blockPages === 0) {
					// the older image's bytes as they are (packed unaligned, if it was compressed)
					if (blockPage !== 0 || blockCrc !== 0) bad(`extent ${j} has the fields of a compressed block, but no block`);
					if (stored !== len) bad(`extent ${j} stores ${stored} bytes for ${len}`);
				} else {
					// len bytes from page blockPage of a block that shrank to stored_len bytes (version 9)
					const blockLen = BigInt(blockPages) * PAGE;
					if (blockLen > BigInt(CKPT_COMPRESS_BLOCK)) bad(`extent ${j} lies in a compressed block of ${blockPages} pages, more than one block`);
					if (BigInt(blockPage) * PAGE + len > blockLen)
						bad(`extent ${j} (${len} bytes from page ${blockPage}) does not fit its compressed block of ${blockPages} pages`);
					if (stored === 0n || stored >= blockLen) bad(`extent ${j} stores ${stored} bytes for a compressed block of ${blockLen}`);
				}
				if (!older || off < BigInt(CKPT_HEADER_SIZE) || off + stored > older.fileSize)
					bad(`extent ${j} data [${off}, +${stored}) lies outside the older image it reads from`);
				dataOffset = Number(off);
				storedLen = Number(stored);
			}
			extents.push({ start: eStart, len: Number(len), kind: eKind, crc: e.u32("crc"), dataOffset, storedLen, link, blockPages, blockPage, blockCrc });
			cursor = eStart + len;
		}
		if (cursor !== end) bad(`extents end at ${hex(cursor)}, not at the region end`);
		nextExtent += n;
		prevRegionEnd = end;

		const region: Region = {
			start, end, kind,
			prot: r.u32("prot"),
			flags: r.u32("flags"),
			path: str(r.u32("path_str"), where),
			fileOffset: r.u64("file_offset"),
			dev: r.u64("dev"),
			ino: r.u64("ino"),
			fileSize: r.u64("file_size"),
			mtimeSec: r.i64("mtime_sec"),
			mtimeNsec: r.i64("mtime_nsec"),
			extents,
			vmFlags: Number(vmFlags),
			mempolicy, mempolicyNodes,
		};
		const problem = regionRecordProblem(region);
		if (problem) bad(problem);
		regions.push(region);
	}
	if (nextExtent !== h.nextents) fail(`${h.nextents - nextExtent} extents belong to no region (corrupt image)`);

	const fds: Fd[] = [];
	let prevFd = -1;
	for (let i = 0; i < h.nfds; i++) {
		const f = new Fields(view, h.fdsOff + i * FD.size, FD);
		const fd = f.i32("fd");
		const bad = (why: string): never => fail(`fd ${fd}: ${why} (corrupt image)`);
		if (fd <= prevFd) bad("fds not sorted, duplicated or negative");
		prevFd = fd;
		const kind = f.u32("kind");
		const fdKind = FD_KINDS.of(kind) ?? bad(`unknown kind ${kind}`);
		const pipeLen = f.u32("pipe_len");
		const pipeOff = f.u64("pipe_data_offset");
		if (pipeLen > 0 && (pipeOff < BigInt(h.dataOffset) || pipeOff + BigInt(pipeLen) > BigInt(h.fileSize)))
			bad(`pipe data [${pipeOff}, +${pipeLen}) lies outside the data area`);
		const contentLen = f.u64("content_len");
		const contentOff = f.u64("content_offset");
		const stored = fdKind.stored;
		if (contentLen > 0n && !stored) bad("stored contents on a kind that has none");
		if (contentLen > 0n && (contentOff < BigInt(h.dataOffset) || contentOff + contentLen > BigInt(h.fileSize)))
			bad(`stored contents [${contentOff}, +${contentLen}) lie outside the data area`);
		// What the restore stub also refuses (c/stub/validate.c, check_fds).
		if (fd > CKPT_MAX_FD) bad(`fd number above ${CKPT_MAX_FD}`);
		const byPath = fdKind.byPath;
		const sharesWith = f.u32("shares_with");
		// A lower fd of the table, on an open file that is reopened or recreated.
		if (sharesWith > 0 && (!fdKind.ownFile || i === 0 || sharesWith - 1 >= fd || sharesWith - 1 < fds[0]!.fd))
			bad(`shares an open file with fd ${sharesWith - 1}, which it cannot`);
		if (contentLen > 0n && sharesWith > 0) bad("stored contents on a shared open file (the fd it shares with has them)");
		const reopens = f.u32("reopens");
		if (reopens > 0 && ((kind !== CKPT_FD_DELETED && kind !== CKPT_FD_MEMFD) || sharesWith > 0 || contentLen > 0n))
			bad(`opens again the file on fd ${reopens - 1}, which it cannot`);
		if (byPath && f.u32("path_str") === 0) bad("reopened by path, but has none");
		// What c/kinds/fd_async.c's record check also refuses.
		const asyncOwner = f.u32("async_owner"), asyncSignal = f.i32("async_signal");
		if (asyncOwner > CKPT_ASYNC_OWNER_MAX || asyncSignal < 0 || asyncSignal > CKPT_MAX_SIGNALS)
			bad("an O_ASYNC owner or signal that is not one");
		if (asyncOwner !== CKPT_ASYNC_NONE && !(f.u32("open_flags") & O_ASYNC)) bad("an O_ASYNC owner on a descriptor without O_ASYNC");
		if (pipeLen > 0 && (!fdKind.unread || BigInt(pipeLen) > f.u64("size")))
			bad("pipe contents on a kind that has none, or beyond the pipe's size");
		const record: Fd = {
			fd, kind,
			openFlags: f.u32("open_flags"),
			fdFlags: f.u32("fd_flags"),
			offset: f.u64("offset"),
			size: f.u64("size"),
			path: str(f.u32("path_str"), () => `fd ${fd}`),
			pathStr: f.u32("path_str"),
			pipeLen,
			pipeId: f.u64("pipe_id"),
			pipeDataOffset: pipeLen > 0 ? Number(pipeOff) : 0,
			pipeCrc: f.u32("pipe_crc"),
			termios: decodeTermios(f.struct("termios", TERMIOS)),
			sharesWith: f.u32("shares_with") > 0 ? f.u32("shares_with") - 1 : null,
			reopens: reopens > 0 ? reopens - 1 : null,
			watches: [],
			inotifyWatches: [],
			contentLen: Number(contentLen),
			contentOffset: contentLen > 0n ? Number(contentOff) : 0,
			contentCrc: f.u32("content_crc"),
			seals: f.u32("seals"),
			mode: f.u32("mode"),
			count: f.u64("count"),
			sigmask: f.u64("sigmask"),
			clock: f.i32("clock"),
			kindFlags: f.u32("kind_flags"),
			intervalSec: f.i64("interval_sec"),
			intervalNsec: f.i64("interval_nsec"),
			remainingSec: f.i64("remaining_sec"),
			remainingNsec: f.i64("remaining_nsec"),
			socket: kind === CKPT_FD_UNIX_SOCKET || kind === CKPT_FD_INET_SOCKET ? {
				id: f.u64("sock_id"), peerId: f.u64("peer_id"), type: f.u32("sock_type"), state: f.u32("sock_state"),
				backlog: f.u32("backlog"), shutdown: f.u32("shutdown"), rcvbuf: f.u32("rcvbuf"), sndbuf: f.u32("sndbuf"),
				flags: f.u32("sock_flags"), peekOff: f.i32("peek_off"), rcvtimeoUsec: f.i64("rcvtimeo_usec"),
				sndtimeoUsec: f.i64("sndtimeo_usec"), peerStr: f.u32("peer_str"), peer: str(f.u32("peer_str"), () => ""), family: f.u32("sock_family"),
			} : null,
			firstHolder: f.i32("share_pid") !== 0 || f.i32("share_fd") !== 0 ? { pid: f.i32("share_pid"), fd: f.i32("share_fd") } : null,
			async: asyncOwner !== CKPT_ASYNC_NONE ? { owner: asyncOwner, signal: asyncSignal } : null,
		};
		const problem = fdKind.problem?.(record) ?? firstHolderProblem(record, h) ?? reopenProblem(record, fds);
		if (problem) bad(problem);
		fds.push(record);
	}

	const groupsText = str(h.process.groupsStr, () => "groups");
	const groups = groupsText === "" ? [] : groupsText.split(",").map(Number);
	if (groups.length !== h.process.ngroups || !/^(\d+(,\d+)*)?$/.test(groupsText))
		fail(`supplementary groups "${groupsText}" do not match their count ${h.process.ngroups} (corrupt image)`);
	const cgroup = str(h.process.cgroupStr, () => "cgroup");
	// A timer's thread: one the stub can name (a cloned thread by its libc's tid word).
	const knownThread = (i: number) => i < h.nthreads && (i === 0 || tidWord(h.libc, threads[i]!) !== 0n);
	const timers: Timer[] = [];
	for (let i = 0; i < h.process.ntimers; i++) {
		const t = new Fields(view, h.process.timersOff + i * TIMER.size, TIMER);
		const id = t.i32("id");
		const ns = (sec: "interval_sec" | "remaining_sec", nsec: "interval_nsec" | "remaining_nsec") =>
			t.i64(sec) * 1_000_000_000n + t.i64(nsec);
		if (id < 0 || (i > 0 && id <= timers[i - 1]!.id)) fail(`timer ${id}: ids not sorted, duplicated or negative (corrupt image)`);
		if (!validTime(t.i64("interval_sec"), t.i64("interval_nsec")) || !validTime(t.i64("remaining_sec"), t.i64("remaining_nsec")))
			fail(`timer ${id}: a time out of range (corrupt image)`);
		const notify = t.u32("notify");
		const targetThread = t.u32("target_thread");
		if (![0, 1, 2, 4].includes(notify) || (notify === 4 && !knownThread(targetThread)))
			fail(`timer ${id}: notification ${notify} or its thread out of range (corrupt image)`);
		const clock = t.i32("clock");
		const clockThread = t.u32("clock_thread");
		if (isThreadCpuClock(clock) && (clock >> 3 !== -1 || !knownThread(clockThread)))
			fail(`timer ${id}: the thread whose CPU time it counts is out of range (corrupt image)`);
		timers.push({
			id, clock, clockThread, notify, signo: t.u32("signo"), value: t.u64("value"),
			targetTid: t.i32("target_tid"), targetThread,
			intervalNs: ns("interval_sec", "interval_nsec"), remainingNs: ns("remaining_sec", "remaining_nsec"),
			overrun: t.i32("overrun"),
		});
	}
	const locks: Lock[] = [];
	for (let i = 0; i < h.nlocks; i++) {
		const l = new Fields(view, h.locksOff + i * LOCK.size, LOCK);
		const fd = l.i32("fd");
		const kind = l.u32("kind");
		const type = l.u32("type");
		const start = l.u64("start");
		const len = l.u64("len");
		const bad = (why: string): never => fail(`lock ${i} on fd ${fd}: ${why} (corrupt image)`);
		const on = fds.find((f) => f.fd === fd);
		if (!on || !FD_KINDS.of(on.kind)?.lockable) bad("not on a restored file");
		const lockKind = LOCK_KINDS.of(kind) ?? bad(`unknown kind ${kind}`);
		if (type > 1) bad(`unknown type ${type}`);
		if (lockKind.wholeFile && (start !== 0n || len !== 0n)) bad("a whole-file lock with a range");
		if (start > 1n << 62n || len > 1n << 62n) bad("range out of bounds");
		if (on!.sharesWith !== null) bad("on a shared fd (the stub takes locks on the fd that opened the file)");
		locks.push({ fd, kind, write: type === 1, start, len });
	}

	const signals: PendingSignal[] = [];
	for (let i = 0; i < h.process.nsignals; i++) {
		const s = new Fields(view, h.process.signalsOff + i * SIGNAL.size, SIGNAL);
		const at = h.process.signalsOff + i * SIGNAL.size + SIGNAL.fields.info.off;
		const signo = s.u32("signo");
		const thread = s.u32("thread");
		// siginfo_t: si_signo 0, si_code 8, si_pid/si_timerid 16, si_uid/si_overrun 20, si_value 24
		if (signo < 1 || signo > 64 || signo === 9 || signo === 19 || view.getInt32(at, true) !== signo)
			fail(`pending signal ${i}: signal ${signo} cannot be pending (corrupt image)`);
		if (thread !== CKPT_SIGNAL_PROCESS && thread >= h.nthreads)
			fail(`pending signal ${i} (signal ${signo}): its thread ${thread} is out of range (corrupt image)`);
		signals.push({
			signo, thread: thread === CKPT_SIGNAL_PROCESS ? null : thread, tid: s.i32("tid"),
			code: view.getInt32(at + 8, true), pid: view.getInt32(at + 16, true), uid: view.getUint32(at + 20, true),
			value: view.getBigUint64(at + 24, true),
		});
	}

	// What the stub also refuses (c/kinds/fd_epoll.c, fd_epoll_watches_problem).
	const watches: EpollWatch[] = [];
	for (let i = 0; i < h.nwatches; i++) {
		const w = new Fields(view, h.watchesOff + i * EPOLL_WATCH.size, EPOLL_WATCH);
		const watch = { epfd: w.i32("epfd"), fd: w.i32("fd"), events: w.u32("events"), data: w.u64("data") };
		const bad = (why: string): never => fail(`epoll watch ${i} (fd ${watch.epfd} watching fd ${watch.fd}): ${why} (corrupt image)`);
		const prev = watches[i - 1];
		if (prev && (watch.epfd < prev.epfd || (watch.epfd === prev.epfd && watch.fd <= prev.fd))) bad("not sorted, or twice");
		const ep = fds.find((f) => f.fd === watch.epfd);
		if (!ep || ep.kind !== CKPT_FD_EPOLL || ep.sharesWith !== null) bad("not on an epoll of the fd table");
		if (watch.fd === watch.epfd || !fds.some((f) => f.fd === watch.fd)) bad("watches no fd of the table");
		if (w.u32("pad") !== 0) bad("padding is not zero");
		watches.push(watch);
		ep!.watches.push(watch);
	}

	// What the stub also refuses (c/kinds/fd_inotify.c, fd_inotify_watches_problem).
	const inotify = decodeInotifyWatches(view, h, fds, str, fail);

	checkRestorePoints(fail, h, threads, regions);
	const members = decodeMembers(view, h, strings, fail);
	return {
		exe: str(h.exeStr, () => "exe"), cwd: str(h.cwdStr, () => "cwd"), argv, groups, cgroup, threads, regions, fds, timers, locks,
		signals, watches, inotify, members,
	};
}
