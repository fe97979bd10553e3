/**
 * Checking and decoding the image header: identity first (magic, version,
 * machine), because a different layout makes every later field meaningless;
 * then the checksum; then the fields that place everything else in the file.
 * Nothing is decoded from bytes the checksum has not covered.
 */
import { crc32c } from "./crc32c.ts";
import { ImageError } from "../cli/errors.ts";
import { Fields, utf8 } from "./fields.ts";
import {
	CKPT_ARCH_X86_64, CKPT_HEADER_SIZE, CKPT_HEADER_FLAGS_KNOWN, CKPT_MAGIC, CKPT_MAX_AUXV, CKPT_MAX_RLIMITS, CKPT_MAX_SIGNALS, CKPT_MAX_THREADS,
	CKPT_CODEC_MAX, CKPT_LIBC_MAX, CKPT_NSPECIAL, CKPT_PAGE_SIZE, CKPT_VERSION, HEADER, HEADER_STRUCT_SIZE, ITIMER, MM, RLIMIT,
	SIGACTION, TERMIOS, TIMEVAL, PROCESS_STATE, CKPT_UNKNOWN, CKPT_LINKS_MAX, CKPT_TRACKING_MAX, LINK, CKPT_COREDUMP_FILTER_BITS,
} from "./format.ts";
import type { Header, Itimer, ProcessState, Termios } from "./types.ts";

/** The largest tables we will read into memory: far above any real process. */
export const MAX_TABLES_SIZE = 1 << 30;


/** Highest user-space address on x86-64 with 4-level paging, as the kernel's TASK_SIZE. */
export const USER_SPACE_END = 0x7ffffffff000n;

export const SPECIAL_NAMES = ["[vvar]", "[vvar_vclock]", "[vdso]"] as const;

/**
 * Validate the first bytes of an image (`bytes`: up to CKPT_HEADER_SIZE of
 * them; `actualSize`: the file's size) and decode the header.
 */
export function checkHeader(name: string, bytes: Uint8Array, actualSize: number): Header {
	const fail = (why: string): never => {
		throw new ImageError(`${name}: ${why}`);
	};
	if (actualSize === 0) fail("not a ckpt image (empty file)");
	if (bytes.length < 8 || utf8.decode(bytes.subarray(0, 8)) !== CKPT_MAGIC)
		fail("not a ckpt image (bad magic)");

	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const u32At = (off: number) => (off + 4 <= bytes.length ? view.getUint32(off, true) : undefined);
	const version = u32At(HEADER.fields.version.off);
	if (version !== undefined && version !== CKPT_VERSION)
		fail(`unsupported image version ${version} (this ckpt reads version ${CKPT_VERSION})`);
	const arch = u32At(HEADER.fields.arch.off);
	if (arch !== undefined && arch !== CKPT_ARCH_X86_64)
		fail(`image is for another machine (ELF machine ${arch}, not x86-64)`);
	const pageSize = u32At(HEADER.fields.page_size.off);
	if (pageSize !== undefined && pageSize !== CKPT_PAGE_SIZE)
		fail(`unsupported page size ${pageSize} (expected ${CKPT_PAGE_SIZE})`);
	const headerSize = u32At(HEADER.fields.header_size.off);
	if (headerSize !== undefined && headerSize !== HEADER_STRUCT_SIZE)
		fail(`header size ${headerSize} differs from this ckpt's ${HEADER_STRUCT_SIZE} (incompatible image)`);

	if (actualSize < CKPT_HEADER_SIZE || bytes.length < CKPT_HEADER_SIZE) {
		const off = HEADER.fields.file_size.off;
		const claimed = off + 8 <= bytes.length ? view.getBigUint64(off, true) : undefined;
		fail(claimed === undefined
			? `truncated (file has ${actualSize} bytes, less than a header)`
			: `truncated (header says ${claimed} bytes, file has ${actualSize})`);
	}

	// The whole header page, padding included: every byte is covered.
	const covered = bytes.slice(0, CKPT_HEADER_SIZE);
	new DataView(covered.buffer).setUint32(HEADER.fields.header_crc.off, 0, true);
	const h = new Fields(view, 0, HEADER);
	if (crc32c(covered) !== h.u32("header_crc")) fail("header checksum mismatch (corrupt image)");

	const fileSize = h.u64("file_size");
	if (fileSize > BigInt(actualSize)) fail(`truncated (header says ${fileSize} bytes, file has ${actualSize})`);
	if (fileSize < BigInt(actualSize)) fail(`extended (header says ${fileSize} bytes, file has ${actualSize})`);
	if ((h.u32("flags") & ~CKPT_HEADER_FLAGS_KNOWN) !== 0) fail(`unknown header flags 0x${h.u32("flags").toString(16)} (newer image?)`);
	if (h.u32("libc") < 1 || h.u32("libc") > CKPT_LIBC_MAX) fail("unknown C library (corrupt image)");
	if (h.u32("codec") > CKPT_CODEC_MAX) fail("unknown compression codec (corrupt image)");
	if (h.u32("dumpable") > 2) fail("the dumpable flag is out of range (corrupt image)");
	if ((h.u32("coredump_filter") & ~CKPT_COREDUMP_FILTER_BITS) !== 0) fail("the coredump filter is out of range (corrupt image)");
	for (let i = 0; i < CKPT_MAX_RLIMITS; i++) {
		const r = h.struct("rlimits", RLIMIT, i);
		if (r.u64("cur") > r.u64("max")) fail("a resource limit's soft value is above its hard one (corrupt image)");
	}
	const nlinks = h.u32("nlinks");
	if (h.u32("tracking") > CKPT_TRACKING_MAX || nlinks > CKPT_LINKS_MAX) fail("incremental image fields out of range (corrupt image)");
	const links = Array.from({ length: nlinks }, (_, i) => {
		const l = h.struct("links", LINK, i);
		return { imageId: l.u64("image_id"), fileSize: l.u64("file_size"), headerCrc: l.u32("header_crc") };
	});
	if (links.some((l) => l.imageId === 0n || l.fileSize < BigInt(CKPT_HEADER_SIZE)))
		fail("an older image of the chain is named out of range (corrupt image)");

	const tablesOffset = h.u64("tables_offset");
	const tablesSize = h.u64("tables_size");
	const dataOffset = h.u64("data_offset");
	const tablesEnd = tablesOffset + tablesSize;
	if (tablesOffset !== BigInt(CKPT_HEADER_SIZE) || tablesEnd > fileSize)
		fail(`tables [${tablesOffset}, +${tablesSize}) lie outside the file`);
	if (tablesSize > BigInt(MAX_TABLES_SIZE)) fail(`tables too large (${tablesSize} bytes)`);
	if (dataOffset % BigInt(CKPT_PAGE_SIZE) !== 0n || dataOffset !== tablesEnd || dataOffset > fileSize)
		fail(`data offset ${dataOffset} is misplaced (tables end at ${tablesEnd}, file has ${fileSize} bytes)`);

	if (h.u32("nthreads") > CKPT_MAX_THREADS) fail("image has an impossible number of threads");
	const auxvWords = h.u32("auxv_words");
	if (auxvWords > CKPT_MAX_AUXV) fail(`auxv has ${auxvWords} words (at most ${CKPT_MAX_AUXV})`);

	// Safe: all three are at most fileSize, which is a real file's size.
	const num = (v: bigint) => Number(v);
	let mm: Header["mm"] | undefined, auxv: Header["auxv"] | undefined, sigactions: Header["sigactions"] | undefined;
	let itimers: Header["itimers"] | undefined, rlimits: Header["rlimits"] | undefined, termios: Header["termios"] | undefined;
	return {
		version: h.u32("version"),
		headerSize: h.u32("header_size"),
		arch: h.u32("arch"),
		pageSize: h.u32("page_size"),
		fileSize: num(fileSize),
		createdNs: h.u64("created_ns"),
		captureNs: h.u64("capture_ns"),
		pid: h.i32("pid"),
		ppid: h.i32("ppid"),
		nthreads: h.u32("nthreads"),
		nregions: h.u32("nregions"),
		nextents: h.u32("nextents"),
		nfds: h.u32("nfds"),
		stringsSize: h.u32("strings_size"),
		tablesOffset: num(tablesOffset),
		tablesSize: num(tablesSize),
		dataOffset: num(dataOffset),
		// Table offsets are checked against tablesSize by the table reader; until
		// then clamp so an absurd u64 cannot become an unsafe number.
		threadsOff: clamp(h.u64("threads_off")),
		regionsOff: clamp(h.u64("regions_off")),
		extentsOff: clamp(h.u64("extents_off")),
		fdsOff: clamp(h.u64("fds_off")),
		stringsOff: clamp(h.u64("strings_off")),
		locksOff: clamp(h.u64("locks_off")),
		nlocks: h.u32("nlocks"),
		personality: h.u32("personality"),
		mdwe: h.u32("mdwe"),
		dumpable: h.u32("dumpable"),
		coredumpFilter: h.u32("coredump_filter"),
		watchesOff: h.u32("watches_off"),
		nwatches: h.u32("nwatches"),
		inotifyOff: h.u32("inotify_off"),
		ninotify: h.u32("ninotify"),
		tablesCrc: h.u32("tables_crc"),
		flags: h.u32("flags"),
		hostname: h.chars("hostname"),
		kernelRelease: h.chars("kernel_release"),
		xcr0: h.u64("xcr0"),
		xsaveSize: h.u32("xsave_size"),
		exitStatusOnStop: h.u32("exit_status_on_stop"),
		exeStr: h.u32("exe_str"),
		cwdStr: h.u32("cwd_str"),
		argvStr: h.u32("argv_str"),
		argvLen: h.u32("argv_len"),
		comm: h.chars("comm"),
		triggerSignal: h.u32("trigger_signal"),
		specials: Array.from({ length: CKPT_NSPECIAL }, (_, i) => ({
			name: SPECIAL_NAMES[i]!,
			start: h.u64("special_start", i),
			end: h.u64("special_end", i),
		})),
		vdsoCrc: h.u32("vdso_crc"),
		process: decodeProcessState(h.struct("process", PROCESS_STATE)),
		restartInfoAddr: h.u64("restart_info_addr"),
		libc: h.u32("libc"),
		codec: h.u32("codec"),
		imageId: h.u64("image_id"),
		tracking: h.u32("tracking"),
		links,
		pgid: h.i32("pgid"),
		sid: h.i32("sid"),
		treeRootPid: h.i32("tree_root_pid"),
		ttyPgrp: h.i32("tty_pgrp"),
		nmembers: h.u32("nmembers"),
		treeId: h.u64("tree_id"),
		membersOff: h.u32("members_off"),
		headerCrc: h.u32("header_crc"),
		// The process state the stub restores is decoded on first use: about
		// a hundred structs that `ckpt restart` never looks at (only `info`
		// shows them), and decoding them costs more than all its checks.
		get mm() {
			return (mm ??= decodeMm(h.struct("mm", MM)));
		},
		get auxv() {
			return (auxv ??= Array.from({ length: auxvWords }, (_, i) => h.u64("auxv", i)));
		},
		get sigactions() {
			return (sigactions ??= Array.from({ length: CKPT_MAX_SIGNALS }, (_, i) => {
				const s = h.struct("sigactions", SIGACTION, i);
				return { handler: s.u64("handler"), flags: s.u64("flags"), restorer: s.u64("restorer"), mask: s.u64("mask") };
			}));
		},
		get itimers() {
			return (itimers ??= Array.from({ length: 3 }, (_, i) => decodeItimer(h.struct("itimers", ITIMER, i))));
		},
		get rlimits() {
			return (rlimits ??= Array.from({ length: CKPT_MAX_RLIMITS }, (_, i) => {
				const r = h.struct("rlimits", RLIMIT, i);
				return { cur: r.u64("cur"), max: r.u64("max") };
			}));
		},
		get termios() {
			return (termios ??= Array.from({ length: 3 }, (_, i) => decodeTermios(h.struct("termios", TERMIOS, i))));
		},
	};
}

function clamp(v: bigint): number {
	return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function decodeMm(m: Fields<keyof typeof MM.fields>) {
	return {
		startCode: m.u64("start_code"), endCode: m.u64("end_code"),
		startData: m.u64("start_data"), endData: m.u64("end_data"),
		startBrk: m.u64("start_brk"), brk: m.u64("brk"), startStack: m.u64("start_stack"),
		argStart: m.u64("arg_start"), argEnd: m.u64("arg_end"),
		envStart: m.u64("env_start"), envEnd: m.u64("env_end"),
	};
}

function decodeProcessState(p: Fields<keyof typeof PROCESS_STATE.fields>): ProcessState {
	const known = (v: number) => (v === CKPT_UNKNOWN ? null : v);
	return {
		umask: p.u32("umask"), thpDisable: p.u32("thp_disable"),
		noNewPrivs: p.u32("no_new_privs") !== 0, childSubreaper: p.u32("child_subreaper") !== 0,
		oomScoreAdj: p.i32("oom_score_adj"), membarrier: known(p.u32("membarrier")), loginuid: known(p.u32("loginuid")),
		ngroups: p.u32("ngroups"), groupsStr: p.u32("groups_str"), cgroupStr: p.u32("cgroup_str"),
		ntimers: p.u32("ntimers"), timersOff: p.u32("timers_off"),
		nsignals: p.u32("nsignals"), signalsOff: p.u32("signals_off"),
	};
}

function decodeItimer(t: Fields<keyof typeof ITIMER.fields>): Itimer {
	const tv = (k: "interval" | "value") => {
		const v = t.struct(k, TIMEVAL);
		return { sec: v.i64("sec"), usec: v.i64("usec") };
	};
	return { interval: tv("interval"), value: tv("value") };
}

export function decodeTermios(t: Fields<keyof typeof TERMIOS.fields>): Termios {
	return {
		iflag: t.u32("iflag"), oflag: t.u32("oflag"), cflag: t.u32("cflag"), lflag: t.u32("lflag"),
		line: t.u8("line"),
		cc: Array.from({ length: TERMIOS.fields.cc.count }, (_, i) => t.u8("cc", i)),
		valid: t.u8("valid") !== 0,
	};
}
