/**
 * The image format, mirrored from c/ckpt_format.h (the single source of
 * truth): every constant, enum and struct, each field at its explicit byte
 * offset. All integers are little-endian. test/unit/format-mirror.test.ts
 * compiles the header and compares every offset and size printed by
 * `offsetof`/`sizeof` with these tables, so the two cannot drift; when the C
 * header changes, change this file in the same commit.
 */

// How a struct is spelled (offsets, types), shared with the parts below.
export type { Field, Layout, Scalar } from "./format-layout.ts";
import { f, layout, type Layout } from "./format-layout.ts";
// The descriptor records' constants (c/ckpt_format_fds.h), in a file of their own.
export * from "./format-fds.ts";
import { FD_C_CONSTANTS } from "./format-fds.ts";
// Version 5's constants for how memory is stored (codec, incremental chain), likewise.
export * from "./format-storage.ts";
import { CKPT_LINKS_MAX, STORAGE_C_CONSTANTS } from "./format-storage.ts";
// Version 6's process trees (c/ckpt_format_tree.h): the member table and its constants.
export * from "./format-tree.ts";
import { MEMBER, TREE_C_CONSTANTS } from "./format-tree.ts";

export * from "./format-thread.ts";
import { CREDS, RESUME_CTX, THREAD, THREAD_C_CONSTANTS } from "./format-thread.ts";

export const CKPT_MAGIC = "CKPTIMG\0";
export const CKPT_VERSION = 15;
export const CKPT_ARCH_X86_64 = 62;
export const CKPT_PAGE_SIZE = 4096;
export const CKPT_HEADER_SIZE = 4096;
/** Header flag: the root is a daemon its exited launch left running (restarts detached, a session leader). */
export const CKPT_HEADER_DAEMON = 1;
export const CKPT_HEADER_FLAGS_KNOWN = CKPT_HEADER_DAEMON;
export const CKPT_MAX_SIGNALS = 64;
export const CKPT_MAX_RLIMITS = 16;
export const CKPT_MAX_AUXV = 64;
export const CKPT_PATH_MAX = 4096;
export const CKPT_MAX_FD = 65535;
export const CKPT_MAX_THREADS = 65536;
export const CKPT_LOWEST_ADDRESS = 0x1000;
export const CKPT_RESTART_INFO_MAGIC = 0x4f464e4954525352n;

export const CKPT_UNKNOWN = 0xffffffff;
export const CKPT_SIGNAL_PROCESS = 0xffffffff;

export const CKPT_SPECIAL_VVAR = 0;
export const CKPT_SPECIAL_VVAR_VCLOCK = 1;
export const CKPT_SPECIAL_VDSO = 2;
export const CKPT_NSPECIAL = 3;

export const CKPT_REGION_ANON = 1;
export const CKPT_REGION_STACK = 2;
export const CKPT_REGION_FILE_PRIVATE = 3;
export const CKPT_REGION_FILE_SHARED = 4;
export const CKPT_REGION_SHARED_ANON = 5;
export const CKPT_REGION_SYSV_SHM = 6;
export const CKPT_REGION_KIND_MAX = CKPT_REGION_SYSV_SHM;

export const CKPT_REGION_HEAP = 1 << 0;
export const CKPT_REGION_UNREAD = 1 << 1;
export const CKPT_REGION_THREAD_STACK = 1 << 2;
export const CKPT_REGION_SHM_REMOVED = 1 << 3;

export const CKPT_VM_MAYWRITE = 1 << 0;
export const CKPT_VM_LOCKED = 1 << 1;
export const CKPT_VM_LOCKONFAULT = 1 << 2;
export const CKPT_VM_DONTFORK = 1 << 3;
export const CKPT_VM_WIPEONFORK = 1 << 4;
export const CKPT_VM_DONTDUMP = 1 << 5;
export const CKPT_VM_HUGEPAGE = 1 << 6;
export const CKPT_VM_NOHUGEPAGE = 1 << 7;
export const CKPT_VM_MERGEABLE = 1 << 8;
export const CKPT_VM_SEQUENTIAL = 1 << 9;
export const CKPT_VM_RANDOM = 1 << 10;
export const CKPT_VM_SEALED = 1 << 11;
export const CKPT_VM_ACCOUNT = 1 << 12;
export const CKPT_VM_NORESERVE = 1 << 13;

export const CKPT_EXTENT_DATA = 1;
export const CKPT_EXTENT_HOLE = 2;
export const CKPT_EXTENT_FILE = 3;
export const CKPT_EXTENT_GUARD = 4;
export const CKPT_EXTENT_PARENT = 5;
export const CKPT_EXTENT_KIND_MAX = CKPT_EXTENT_PARENT;


export const CKPT_PR_SET_MDWE = 65;
export const CKPT_PR_GET_MDWE = 66;
export const CKPT_COREDUMP_FILTER_BITS = 0x1ff; // the kernel's MMF_DUMP_FILTER_BITS: 9

/** Every #define and enum value above, by its C name, for the mirror test. */
export const C_CONSTANTS: Readonly<Record<string, number | bigint>> = {
	CKPT_VERSION, CKPT_ARCH_X86_64, CKPT_PAGE_SIZE, CKPT_HEADER_SIZE, CKPT_HEADER_DAEMON, CKPT_HEADER_FLAGS_KNOWN,
	CKPT_MAX_SIGNALS, CKPT_MAX_RLIMITS, CKPT_MAX_AUXV, CKPT_PATH_MAX, CKPT_MAX_FD, CKPT_MAX_THREADS, CKPT_LOWEST_ADDRESS,
	CKPT_RESTART_INFO_MAGIC, CKPT_PR_SET_MDWE, CKPT_PR_GET_MDWE, CKPT_COREDUMP_FILTER_BITS,
	CKPT_UNKNOWN, CKPT_SIGNAL_PROCESS,
	CKPT_SPECIAL_VVAR, CKPT_SPECIAL_VVAR_VCLOCK, CKPT_SPECIAL_VDSO, CKPT_NSPECIAL,
	CKPT_REGION_ANON, CKPT_REGION_STACK, CKPT_REGION_FILE_PRIVATE,
	CKPT_REGION_FILE_SHARED, CKPT_REGION_SHARED_ANON, CKPT_REGION_SYSV_SHM, CKPT_REGION_KIND_MAX,
	CKPT_REGION_HEAP, CKPT_REGION_UNREAD, CKPT_REGION_THREAD_STACK, CKPT_REGION_SHM_REMOVED,
	CKPT_VM_MAYWRITE, CKPT_VM_LOCKED, CKPT_VM_LOCKONFAULT, CKPT_VM_DONTFORK, CKPT_VM_WIPEONFORK,
	CKPT_VM_DONTDUMP, CKPT_VM_HUGEPAGE, CKPT_VM_NOHUGEPAGE, CKPT_VM_MERGEABLE, CKPT_VM_SEQUENTIAL,
	CKPT_VM_RANDOM, CKPT_VM_SEALED, CKPT_VM_ACCOUNT, CKPT_VM_NORESERVE,
	CKPT_EXTENT_DATA, CKPT_EXTENT_HOLE, CKPT_EXTENT_FILE, CKPT_EXTENT_GUARD, CKPT_EXTENT_PARENT, CKPT_EXTENT_KIND_MAX,
	...STORAGE_C_CONSTANTS,
	...FD_C_CONSTANTS,
	...TREE_C_CONSTANTS,
	...THREAD_C_CONSTANTS,
};

export const MM = layout("ckpt_mm", 88, {
	start_code: f(0, "u64"), end_code: f(8, "u64"), start_data: f(16, "u64"), end_data: f(24, "u64"),
	start_brk: f(32, "u64"), brk: f(40, "u64"), start_stack: f(48, "u64"),
	arg_start: f(56, "u64"), arg_end: f(64, "u64"), env_start: f(72, "u64"), env_end: f(80, "u64"),
});

export const SIGACTION = layout("ckpt_sigaction", 32, {
	handler: f(0, "u64"), flags: f(8, "u64"), restorer: f(16, "u64"), mask: f(24, "u64"),
});

export const TIMEVAL = layout("ckpt_timeval", 16, { sec: f(0, "i64"), usec: f(8, "i64") });
export const ITIMER = layout("ckpt_itimer", 32, { interval: f(0, TIMEVAL), value: f(16, TIMEVAL) });
export const RLIMIT = layout("ckpt_rlimit", 16, { cur: f(0, "u64"), max: f(8, "u64") });

export const TERMIOS = layout("ckpt_termios", 40, {
	iflag: f(0, "u32"), oflag: f(4, "u32"), cflag: f(8, "u32"), lflag: f(12, "u32"),
	line: f(16, "u8"), cc: f(17, "u8", 19), valid: f(36, "u8"), pad: f(37, "u8", 3),
});

export const PROCESS_STATE = layout("ckpt_process_state", 56, {
	umask: f(0, "u32"), thp_disable: f(4, "u32"), no_new_privs: f(8, "u32"), child_subreaper: f(12, "u32"),
	oom_score_adj: f(16, "i32"), membarrier: f(20, "u32"), loginuid: f(24, "u32"), ngroups: f(28, "u32"),
	groups_str: f(32, "u32"), cgroup_str: f(36, "u32"),
	// timers
	ntimers: f(40, "u32"), timers_off: f(44, "u32"),
	// signals
	nsignals: f(48, "u32"), signals_off: f(52, "u32"),
});

/** Version 5: an image an incremental one reads from, by content. */
export const LINK = layout("ckpt_link", 24, {
	image_id: f(0, "u64"), file_size: f(8, "u64"), header_crc: f(16, "u32"), pad: f(20, "u32"),
});

/** sizeof(struct ckpt_header): the bytes header_crc covers. */
export const HEADER_STRUCT_SIZE = 3904;

export const HEADER = layout("ckpt_header", HEADER_STRUCT_SIZE, {
	magic: f(0, "char", 8),
	version: f(8, "u32"),
	header_size: f(12, "u32"),
	arch: f(16, "u32"),
	page_size: f(20, "u32"),
	file_size: f(24, "u64"),
	created_ns: f(32, "u64"),
	capture_ns: f(40, "u64"),
	pid: f(48, "i32"),
	nthreads: f(52, "u32"),
	nregions: f(56, "u32"),
	nextents: f(60, "u32"),
	nfds: f(64, "u32"),
	strings_size: f(68, "u32"),
	tables_offset: f(72, "u64"),
	tables_size: f(80, "u64"),
	data_offset: f(88, "u64"),
	threads_off: f(96, "u64"),
	regions_off: f(104, "u64"),
	extents_off: f(112, "u64"),
	fds_off: f(120, "u64"),
	strings_off: f(128, "u64"),
	locks_off: f(136, "u64"),
	nlocks: f(144, "u32"),
	personality: f(148, "u32"), // version 10: personality(2), was padding
	tables_crc: f(152, "u32"),
	flags: f(156, "u32"),
	hostname: f(160, "char", 72),
	kernel_release: f(232, "char", 72),
	xcr0: f(304, "u64"),
	xsave_size: f(312, "u32"),
	exit_status_on_stop: f(316, "u32"),
	exe_str: f(320, "u32"),
	cwd_str: f(324, "u32"),
	argv_str: f(328, "u32"),
	argv_len: f(332, "u32"),
	comm: f(336, "char", 16),
	mm: f(352, MM),
	auxv: f(440, "u64", CKPT_MAX_AUXV),
	auxv_words: f(952, "u32"),
	trigger_signal: f(956, "u32"),
	special_start: f(960, "u64", CKPT_NSPECIAL),
	special_end: f(984, "u64", CKPT_NSPECIAL),
	vdso_crc: f(1008, "u32"),
	mdwe: f(1012, "u32"), // version 10: PR_GET_MDWE, was padding
	sigactions: f(1016, SIGACTION, CKPT_MAX_SIGNALS),
	itimers: f(3064, ITIMER, 3),
	rlimits: f(3160, RLIMIT, CKPT_MAX_RLIMITS),
	termios: f(3416, TERMIOS, 3),
	process: f(3536, PROCESS_STATE),
	restart_info_addr: f(3592, "u64"),
	nwatches: f(3600, "u32"),
	watches_off: f(3604, "u32"),
	libc: f(3608, "u32"),
	ninotify: f(3612, "u32"),
	inotify_off: f(3616, "u32"),
	codec: f(3620, "u32"), dumpable: f(3624, "u32"), // version 5, compression; version 11: PR_GET_DUMPABLE, was padding
	ppid: f(3628, "i32"), coredump_filter: f(3632, "u32"), // version 5, pid namespace restart; version 11: /proc/self/coredump_filter, was padding
	tracking: f(3636, "u32"), image_id: f(3640, "u64"), // version 5: incremental images
	links: f(3648, LINK, CKPT_LINKS_MAX), nlinks: f(3864, "u32"),
	// version 6, process trees
	pgid: f(3868, "i32"), sid: f(3872, "i32"),
	tree_root_pid: f(3876, "i32"), tty_pgrp: f(3880, "i32"),
	nmembers: f(3884, "u32"), tree_id: f(3888, "u64"), members_off: f(3896, "u32"),
	header_crc: f(3900, "u32"),
});

export const REGION = layout("ckpt_region", 112, {
	start: f(0, "u64"),
	end: f(8, "u64"),
	kind: f(16, "u32"),
	prot: f(20, "u32"),
	flags: f(24, "u32"),
	path_str: f(28, "u32"),
	file_offset: f(32, "u64"),
	dev: f(40, "u64"),
	ino: f(48, "u64"),
	file_size: f(56, "u64"),
	mtime_sec: f(64, "i64"),
	mtime_nsec: f(72, "i64"),
	first_extent: f(80, "u32"),
	nextents: f(84, "u32"),
	vm_flags: f(88, "u64"),
	// version 11: the region's own NUMA memory policy (mbind), as the thread record's; 0 for none
	mempolicy: f(96, "u32"), pad_mempolicy: f(100, "u32"), mempolicy_nodes: f(104, "u64"),
});

export const EXTENT = layout("ckpt_extent", 48, {
	start: f(0, "u64"), len: f(8, "u64"),
	kind: f(16, "u16"), link: f(18, "u16"), // version 5, PARENT: index in the header's links (kind fits 16 bits)
	crc: f(20, "u32"), data_offset: f(24, "u64"),
	stored_len: f(32, "u64"), // version 5, compression
	// version 9, PARENT inside an older image's compressed block (stored_len bytes at data_offset):
	// it inflates to block_pages pages, this extent is len bytes of them from page block_page;
	// block_crc is of the stored block. All three 0 for every other extent.
	block_pages: f(40, "u16"), block_page: f(42, "u16"), block_crc: f(44, "u32"),
});

export const FD = layout("ckpt_fd", 280, {
	fd: f(0, "i32"),
	kind: f(4, "u32"),
	open_flags: f(8, "u32"),
	fd_flags: f(12, "u32"),
	offset: f(16, "u64"),
	size: f(24, "u64"),
	path_str: f(32, "u32"),
	pipe_len: f(36, "u32"),
	pipe_id: f(40, "u64"),
	pipe_data_offset: f(48, "u64"),
	pipe_crc: f(56, "u32"),
	shares_with: f(60, "u32"),
	// tty
	termios: f(64, TERMIOS),
	// files stored with the image
	content_offset: f(104, "u64"),
	content_len: f(112, "u64"),
	content_crc: f(120, "u32"),
	seals: f(124, "u32"),
	mode: f(128, "u32"),
	reopens: f(132, "u32"), // version 8: 1 + the fd whose deleted file or memfd it opens again
	// event-loop kinds
	count: f(136, "u64"), // inotify: the last wd handed out
	sigmask: f(144, "u64"),
	clock: f(152, "i32"),
	kind_flags: f(156, "u32"),
	interval_sec: f(160, "i64"),
	interval_nsec: f(168, "i64"),
	remaining_sec: f(176, "i64"),
	remaining_nsec: f(184, "i64"),
	// sockets
	sock_id: f(192, "u64"),
	peer_id: f(200, "u64"),
	sock_type: f(208, "u32"),
	sock_state: f(212, "u32"),
	backlog: f(216, "u32"),
	shutdown: f(220, "u32"),
	rcvbuf: f(224, "u32"),
	sndbuf: f(228, "u32"),
	sock_flags: f(232, "u32"),
	peek_off: f(236, "i32"),
	rcvtimeo_usec: f(240, "i64"),
	sndtimeo_usec: f(248, "i64"),
	peer_str: f(256, "u32"),
	sock_family: f(260, "u32"),
	share_pid: f(264, "i32"), share_fd: f(268, "i32"), // version 6, process trees
	async_owner: f(272, "u32"), async_signal: f(276, "i32"), // version 14: O_ASYNC's owner and signal
});

export const EPOLL_WATCH = layout("ckpt_epoll_watch", 24, {
	epfd: f(0, "i32"),
	fd: f(4, "i32"),
	events: f(8, "u32"),
	pad: f(12, "u32"),
	data: f(16, "u64"),
});

export const INOTIFY_WATCH = layout("ckpt_inotify_watch", 40, {
	fd: f(0, "i32"),
	wd: f(4, "i32"),
	mask: f(8, "u32"),
	add_flags: f(12, "u32"),
	ino: f(16, "u64"),
	dev: f(24, "u64"),
	path_str: f(32, "u32"),
	pad: f(36, "u32"),
});

export const TIMER = layout("ckpt_timer", 72, {
	id: f(0, "i32"),
	clock: f(4, "i32"),
	notify: f(8, "u32"),
	signo: f(12, "u32"),
	value: f(16, "u64"),
	target_tid: f(24, "i32"),
	target_thread: f(28, "u32"),
	interval_sec: f(32, "i64"),
	interval_nsec: f(40, "i64"),
	remaining_sec: f(48, "i64"),
	remaining_nsec: f(56, "i64"),
	overrun: f(64, "i32"),
	clock_thread: f(68, "u32"),
});

export const SIGNAL = layout("ckpt_signal", 144, {
	signo: f(0, "u32"),
	thread: f(4, "u32"),
	tid: f(8, "i32"),
	pad: f(12, "u32"),
	info: f(16, "u8", 128),
});

export const LOCK = layout("ckpt_lock", 32, {
	fd: f(0, "i32"),
	kind: f(4, "u32"),
	type: f(8, "u32"),
	pad: f(12, "u32"),
	start: f(16, "u64"),
	len: f(24, "u64"),
});

/** Not in image files: lives in libckpt's memory. Mirrored for completeness. */
export const RESTART_INFO = layout("ckpt_restart_info", 4256, {
	magic: f(0, "u64"),
	arena_start: f(8, "u64"),
	arena_len: f(16, "u64"),
	new_pid: f(24, "i32"),
	threads_in_stub: f(28, "i32"),
	image_path: f(32, "char", CKPT_PATH_MAX),
	// tty
	shell_termios: f(4128, TERMIOS, 3),
	// compression
	compress: f(4248, "u32"),
	// --lazy restart: memory may still be loading
	lazy: f(4252, "u32"),
});

/** Every struct in ckpt_format.h, for the mirror test. */
export const ALL_LAYOUTS: readonly Layout<string>[] = [
	MM, SIGACTION, TIMEVAL, ITIMER, RLIMIT, TERMIOS, PROCESS_STATE, LINK, HEADER, RESUME_CTX, CREDS, THREAD, REGION, EXTENT, FD, TIMER,
	LOCK, SIGNAL, EPOLL_WATCH, INOTIFY_WATCH, MEMBER, RESTART_INFO,
];
