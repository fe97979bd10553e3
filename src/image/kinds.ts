/**
 * Every kind the image format knows, one row per value of its enums
 * (c/ckpt_format.h, mirrored in format.ts): the name `ckpt info` prints,
 * the name `ckpt info --json` prints (docs/info-json.md), and what matters
 * about a record of that kind. The reader's checks (tables.ts), the text
 * (render.ts) and the JSON (json.ts) all ask this file, so a new kind is
 * one row here (and its C module). test/unit/kinds.test.ts holds every
 * enum member of the C header to a row and every JSON name to the docs.
 */
import { CKPT_LIBC_GLIBC, CKPT_LIBC_MUSL, CKPT_MCE_KILL_DEFAULT, CKPT_MCE_KILL_LATE,
	CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_EXTENT_GUARD, CKPT_EXTENT_HOLE, CKPT_EXTENT_PARENT, CKPT_TRACKING_NONE,
	CKPT_TRACKING_UNAVAILABLE, CKPT_TRACKING_WRITE_PROTECT, CKPT_FD_DELETED, CKPT_FD_EPOLL, CKPT_FD_EVENTFD,
	CKPT_FD_FIFO, CKPT_FD_FILE, CKPT_FILE_KEPT, CKPT_FD_INHERIT, CKPT_FD_INOTIFY, CKPT_FD_MEMFD, CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE, CKPT_FD_PROC,
	CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_TTY, CKPT_FD_UNIX_SOCKET, CKPT_FD_INET_SOCKET, CKPT_LOCK_FLOCK, CKPT_LOCK_LEASE, CKPT_LOCK_OFD, CKPT_LOCK_POSIX, CKPT_REGION_ANON,
	CKPT_REGION_FILE_PRIVATE, CKPT_REGION_FILE_SHARED, CKPT_REGION_HEAP, CKPT_REGION_SHARED_ANON, CKPT_REGION_SHM_REMOVED, CKPT_REGION_SYSV_SHM,
	CKPT_REGION_STACK, CKPT_REGION_THREAD_STACK, CKPT_REGION_UNREAD, CKPT_VM_ACCOUNT, CKPT_VM_DONTDUMP,
	CKPT_VM_DONTFORK, CKPT_VM_HUGEPAGE, CKPT_VM_LOCKED, CKPT_VM_LOCKONFAULT, CKPT_VM_MAYWRITE,
	CKPT_VM_MERGEABLE, CKPT_VM_NOHUGEPAGE, CKPT_VM_NORESERVE, CKPT_VM_RANDOM, CKPT_VM_SEALED,
	CKPT_VM_SEQUENTIAL, CKPT_VM_WIPEONFORK, CKPT_CODEC_LZ4, CKPT_CODEC_NONE, CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE,
} from "./format.ts";
import { inotifyProblem, inotifyText } from "./inotify.ts";
import { eventfdProblem, eventfdText, signalfdText, timerfdProblem, timerfdText } from "./event-fds.ts";
import { inetSocketProblem, inetSocketText, socketSharedInTree, unixSocketProblem, unixSocketText } from "./sockets.ts";
import { terminalModes } from "./terminal-modes.ts";
import type { Fd } from "./types.ts";
import { bytes } from "../cli/text.ts";

/** One value of a kind enum. */
export interface Kind {
	readonly value: number;
	readonly text: string; // as `ckpt info` prints it
	readonly json: string; // as `ckpt info --json` prints it
}

/** Rows by value, for lookups in the reader's per-record loops: an array index, not a search. */
export interface KindTable<K extends Kind> {
	readonly rows: readonly K[];
	/** The row of `value`; undefined for a value the format does not have (the reader refuses those). */
	of(value: number): K | undefined;
}

function kindTable<K extends Kind>(rows: K[]): KindTable<K> {
	const byValue: (K | undefined)[] = [];
	for (const r of rows) byValue[r.value] = r;
	return { rows, of: (value) => byValue[value] };
}

export interface FdKind extends Kind {
	readonly offset: boolean; // its file position is restored (OFFSET, `offset`)
	readonly unread: boolean; // unread pipe bytes are stored with it (`unreadBytes`)
	readonly stored: boolean; // the file's contents may be stored in the image (`storedBytes`; a file only when kept); no other kind may have any
	readonly terminal: boolean; // its terminal modes are saved and set again (`terminalModes`)
	readonly lockable: boolean; // a restored open file: locks on it are taken again; no other kind may hold any
	readonly byPath: boolean; // reopened or recreated by its path: it must have one
	readonly ownFile: boolean; // restored from its own record, so a dup may share it (`sameFileAs`; fd_kind_has_own_file)
	/** One description may be held by several processes of a tree (`firstHolder`, version 6; fd_shared_in_tree in c/kinds/fd_kinds.h). */
	readonly sharedInTree: (f: Fd) => boolean;
	/** What its record check (c/kinds/fd_*.c) refuses beyond stored bytes, or undefined. */
	readonly problem?: (f: Fd) => string | undefined;
	/** The PATH column of `ckpt info`: the path and what comes back with it. */
	readonly pathText: (f: Fd) => string;
}

const always = () => true, never = () => false;

const fdKind = (value: number, text: string, json: string, has: Partial<Omit<FdKind, "value" | "text" | "json">>): FdKind => ({
	value, text, json, offset: false, unread: false, stored: false, terminal: false, lockable: false, byPath: false, ownFile: false,
	sharedInTree: never, pathText: (f) => f.path, ...has,
});

/** A file in a temporary directory whose bytes the image keeps (CKPT_FILE_KEPT). */
export const keptFile = (f: Fd) => f.kind === CKPT_FD_FILE && (f.kindFlags & CKPT_FILE_KEPT) !== 0;

/**
 * A file's record beyond its path (c/kinds/fd_file.c, fd_file_record_problem):
 * stored bytes only on a kept one (CKPT_FILE_KEPT, a file in a temporary
 * directory), all of the file, on an open file of its own.
 */
function fileProblem(f: Fd): string | undefined {
	if ((f.kindFlags & ~CKPT_FILE_KEPT) !== 0) return "file flags out of range";
	if ((f.kindFlags & CKPT_FILE_KEPT) === 0) return f.contentLen > 0 ? "stored contents on a file that is not kept" : undefined;
	if (BigInt(f.contentLen) !== f.size || f.sharesWith !== null || f.firstHolder !== null || f.mode > 0o7777)
		return "a kept file's record does not hold the whole file, or is not its own open file";
}

/** Bytes of a deleted file or memfd stored, the fd it is restored as one with, or the fd whose file it opens again. */
const storedText = (f: Fd) =>
	f.sharesWith !== null ? `as fd ${f.sharesWith}`
	: f.reopens === null ? (f.firstHolder ? "stored by its first holder" : `${bytes(f.contentLen)} stored`)
	: `another open of ${f.firstHolder ? `pid ${f.firstHolder.pid} ` : ""}fd ${f.reopens}`;

export const FD_KINDS = kindTable([
	// sharedInTree: made once by a tree's restart for every process that holds it (docs/process-trees.md, "Descriptors between members").
	fdKind(CKPT_FD_FILE, "file", "file", {
		offset: true, stored: true, lockable: true, byPath: true, ownFile: true, sharedInTree: always, problem: fileProblem,
		pathText: (f) => (keptFile(f) ? `${f.path} (${bytes(f.contentLen)} kept: made again if gone)` : f.path),
	}),
	fdKind(CKPT_FD_PIPE_READ, "pipe read", "pipe-read", {
		unread: true, sharedInTree: always, pathText: (f) => `${f.path || "pipe"} (${bytes(f.pipeLen)} unread)`,
	}),
	fdKind(CKPT_FD_PIPE_WRITE, "pipe write", "pipe-write", { sharedInTree: always }),
	fdKind(CKPT_FD_INHERIT, "inherited", "inherited", { sharedInTree: always }),
	fdKind(CKPT_FD_TTY, "terminal", "terminal", {
		terminal: true, pathText: (f) => `${f.path} (reopened as /dev/tty; ${terminalModes(f.termios)})`,
	}),
	fdKind(CKPT_FD_PROC, "proc", "proc", { offset: true, byPath: true, ownFile: true }),
	fdKind(CKPT_FD_DELETED, "deleted", "deleted", {
		offset: true, stored: true, lockable: true, byPath: true, ownFile: true, sharedInTree: always,
		pathText: (f) => `${f.path} (deleted, ${storedText(f)})`,
	}),
	fdKind(CKPT_FD_MEMFD, "memfd", "memfd", {
		offset: true, stored: true, lockable: true, ownFile: true, sharedInTree: always, pathText: (f) => `memfd:${f.path} (${storedText(f)})`,
	}),
	// Unlike an anonymous pipe, a FIFO with nothing queued is just its path.
	fdKind(CKPT_FD_FIFO, "fifo", "fifo", {
		unread: true, byPath: true, ownFile: true, pathText: (f) => (f.pipeLen > 0 ? `${f.path} (${bytes(f.pipeLen)} unread)` : f.path),
	}),
	// Created again from their state (event-fds.ts), so a dup shares each.
	fdKind(CKPT_FD_EVENTFD, "eventfd", "eventfd", { ownFile: true, sharedInTree: always, problem: eventfdProblem, pathText: eventfdText }),
	fdKind(CKPT_FD_SIGNALFD, "signalfd", "signalfd", { ownFile: true, sharedInTree: always, pathText: signalfdText }),
	fdKind(CKPT_FD_TIMERFD, "timerfd", "timerfd", { ownFile: true, sharedInTree: always, problem: timerfdProblem, pathText: timerfdText }),
	// An epoll shared in a tree is made once, empty; its first holder's image holds the watches and registers them.
	fdKind(CKPT_FD_EPOLL, "epoll", "epoll", {
		ownFile: true, sharedInTree: always,
		pathText: (f) => (f.sharesWith !== null ? `as fd ${f.sharesWith}` : f.firstHolder ? "its watches in its first holder's image" : watchesText(f.watches)),
	}),
	// Created again in its state (sockets.ts); the unread bytes are the receiving end's.
	fdKind(CKPT_FD_UNIX_SOCKET, "unix socket", "unix-socket", {
		unread: true, ownFile: true, sharedInTree: socketSharedInTree, problem: unixSocketProblem, pathText: (f) => (f.sharesWith === null ? unixSocketText(f) : `as fd ${f.sharesWith}`),
	}),
	// A listener, or a bound or connected UDP socket, created again; a TCP connection comes back closed by its peer (sockets.ts).
	fdKind(CKPT_FD_INET_SOCKET, "inet socket", "inet-socket", {
		unread: true, ownFile: true, sharedInTree: socketSharedInTree, problem: inetSocketProblem, pathText: (f) => (f.sharesWith === null ? inetSocketText(f) : `as fd ${f.sharesWith}`),
	}),
	// Watches added again by path under their wds (inotify.ts).
	fdKind(CKPT_FD_INOTIFY, "inotify", "inotify", { ownFile: true, problem: inotifyProblem, pathText: inotifyText }),
]);

/** The bits of an epoll watch's events, by name (include/uapi/linux/eventpoll.h). */
export const EPOLL_EVENTS: readonly Flag[] = [
	{ bit: 0x1, name: "in" }, { bit: 0x2, name: "pri" }, { bit: 0x4, name: "out" }, { bit: 0x8, name: "err" },
	{ bit: 0x10, name: "hup" }, { bit: 0x40, name: "rdnorm" }, { bit: 0x80, name: "rdband" }, { bit: 0x100, name: "wrnorm" },
	{ bit: 0x200, name: "wrband" }, { bit: 0x400, name: "msg" }, { bit: 0x2000, name: "rdhup" },
	{ bit: 1 << 28, name: "exclusive" }, { bit: 1 << 29, name: "wakeup" }, { bit: 1 << 30, name: "oneshot" },
	{ bit: 2 ** 31, name: "et" },
];
/** The flags of how a watch reports, kept when a oneshot fires (the kernel's EP_PRIVATE_BITS). */
const EPOLL_MODE_BITS = (1 << 28) | (1 << 29) | (1 << 30) | 2 ** 31;

/** Every bit of `events` by name, unknown ones in hex. */
export function epollEventNames(events: number): string[] {
	const known = EPOLL_EVENTS.filter((e) => (events & e.bit) >>> 0 === e.bit >>> 0).map((e) => e.name!);
	const rest = (events & ~allBits(EPOLL_EVENTS)) >>> 0;
	return rest ? [...known, `0x${rest.toString(16)}`] : known;
}

/** "2 watches: fd 4 in, fd 5 in|et": err and hup are left out, since
 * epoll_ctl adds them to every watch; a oneshot that fired has only its
 * flags left, so it says so. */
function watchesText(watches: readonly { fd: number; events: number }[]): string {
	const one = (w: { fd: number; events: number }) => {
		const names = epollEventNames(w.events).filter((n) => n !== "err" && n !== "hup");
		const fired = (w.events & 1 << 30) !== 0 && ((w.events & ~EPOLL_MODE_BITS) >>> 0) === 0;
		return `fd ${w.fd} ${names.join("|")}${fired ? " (fired)" : ""}`;
	};
	return `${watches.length} watch${watches.length === 1 ? "" : "es"}${watches.length ? ": " : ""}${watches.map(one).join(", ")}`;
}

export interface RegionKind extends Kind {
	readonly shared: boolean; // MAP_SHARED: `s` in its permissions
	readonly file: boolean; // mapped from a file: FILE extents allowed
	readonly unnamed: string; // its NAME when it has no path and is not the heap
}

const regionKind = (value: number, text: string, json: string, shared: boolean, file: boolean, unnamed = ""): RegionKind =>
	({ value, text, json, shared, file, unnamed });

export const REGION_KINDS = kindTable([
	regionKind(CKPT_REGION_ANON, "anon", "anon", false, false),
	regionKind(CKPT_REGION_STACK, "stack", "stack", false, false, "[stack]"),
	regionKind(CKPT_REGION_FILE_PRIVATE, "file", "file", false, true),
	regionKind(CKPT_REGION_FILE_SHARED, "file shared", "file-shared", true, true),
	regionKind(CKPT_REGION_SHARED_ANON, "anon shared", "anon-shared", true, false),
	regionKind(CKPT_REGION_SYSV_SHM, "sysv shm", "sysv-shm", true, false),
]);

export interface ExtentKind extends Kind {
	readonly inImage: boolean; // its bytes are in the image's data area, under a CRC
	readonly inOlderImage: boolean; // its bytes are in an older image of the chain, under a CRC
	readonly fromFile: boolean; // mapped from the region's file: only in file regions
	readonly hasBytes: boolean; // pages the program can read: a column of `ckpt info`'s memory table
}

/**
 * `text` is its column in `ckpt info`'s memory table, or, for pages that
 * hold no bytes (guard pages fault instead), how the region's name
 * mentions them; `json` is its `storage` and its key in `stored`, which
 * lists them in this order.
 */
export const EXTENT_KINDS = kindTable<ExtentKind>([
	{ value: CKPT_EXTENT_DATA, text: "DATA", json: "data", inImage: true, inOlderImage: false, fromFile: false, hasBytes: true },
	{ value: CKPT_EXTENT_HOLE, text: "ZERO", json: "zero", inImage: false, inOlderImage: false, fromFile: false, hasBytes: true },
	{ value: CKPT_EXTENT_FILE, text: "FILE", json: "file", inImage: false, inOlderImage: false, fromFile: true, hasBytes: true },
	{ value: CKPT_EXTENT_GUARD, text: "guard pages", json: "guard", inImage: false, inOlderImage: false, fromFile: false, hasBytes: false },
	{ value: CKPT_EXTENT_PARENT, text: "OLDER", json: "older", inImage: false, inOlderImage: true, fromFile: false, hasBytes: true },
]);

export interface LockKind extends Kind {
	readonly wholeFile: boolean; // always the whole file: a stored range is corrupt
}

export const LOCK_KINDS = kindTable<LockKind>([
	{ value: CKPT_LOCK_POSIX, text: "posix", json: "posix", wholeFile: false },
	{ value: CKPT_LOCK_OFD, text: "ofd", json: "ofd", wholeFile: false },
	{ value: CKPT_LOCK_FLOCK, text: "flock", json: "flock", wholeFile: true },
	{ value: CKPT_LOCK_LEASE, text: "lease", json: "lease", wholeFile: true },
]);

/** enum ckpt_member_kind: a process of a tree other than the root (tree.ts). */
export const MEMBER_KINDS = kindTable<Kind>([
	{ value: CKPT_MEMBER_LIVE, text: "live", json: "live" },
	{ value: CKPT_MEMBER_ZOMBIE, text: "zombie", json: "zombie" },
]);

/** The C library the program ran with (enum ckpt_libc): its name in `ckpt info` and --json. */
export const LIBC_NAMES: Readonly<Record<number, string>> = { [CKPT_LIBC_GLIBC]: "glibc", [CKPT_LIBC_MUSL]: "musl" };

/** A thread's machine-check kill policy (version 13), by PR_MCE_KILL_GET's answer. */
export const MCE_KILL_POLICIES: Readonly<Record<number, string>> = { [CKPT_MCE_KILL_LATE]: "late", 1: "early", [CKPT_MCE_KILL_DEFAULT]: "default" };

/** How DATA extents are stored (the header's codec, version 5): one row per codec. */
export const CODEC_NAMES: Readonly<Record<number, string>> = { [CKPT_CODEC_NONE]: "none", [CKPT_CODEC_LZ4]: "lz4" };

/** enum ckpt_tracking: how an image's pages were chosen (JSON name, then `ckpt info`'s words). */
export const TRACKING_NAMES: Readonly<Record<number, readonly [string, string]>> = {
	[CKPT_TRACKING_NONE]: ["none", "every page (a stop, or a first --continue: nothing was tracked)"],
	[CKPT_TRACKING_WRITE_PROTECT]: ["write-protect", "pages written since the image before (userfaultfd write-protect)"],
	[CKPT_TRACKING_UNAVAILABLE]: ["unavailable", "every page: dirty-page tracking is unavailable here (userfaultfd refused)"],
};

/** One bit of a flag set. */
export interface Flag {
	readonly bit: number;
	readonly name: string | null; // in `ckpt info` and --json alike; null: never shown
}

/** Every bit the format defines in a region's flags: any other is corrupt. */
export const REGION_FLAGS: readonly Flag[] = [
	{ bit: CKPT_REGION_HEAP, name: null }, // shown as the region's name, [heap]
	{ bit: CKPT_REGION_UNREAD, name: null }, // shown as "(no read permission)", `unreadable`
	{ bit: CKPT_REGION_THREAD_STACK, name: null }, // `threadStack`
	{ bit: CKPT_REGION_SHM_REMOVED, name: null }, // `sysvSegment.removed`
];

/** A region's VM flags, in the order `ckpt info` lists them. */
export const VM_FLAGS: readonly Flag[] = [
	{ bit: CKPT_VM_MAYWRITE, name: "maywrite" }, { bit: CKPT_VM_LOCKED, name: "mlock" },
	{ bit: CKPT_VM_LOCKONFAULT, name: "onfault" }, { bit: CKPT_VM_DONTFORK, name: "dontfork" },
	{ bit: CKPT_VM_WIPEONFORK, name: "wipeonfork" }, { bit: CKPT_VM_DONTDUMP, name: "dontdump" },
	{ bit: CKPT_VM_HUGEPAGE, name: "hugepage" }, { bit: CKPT_VM_NOHUGEPAGE, name: "nohugepage" },
	{ bit: CKPT_VM_MERGEABLE, name: "mergeable" }, { bit: CKPT_VM_SEQUENTIAL, name: "sequential" },
	{ bit: CKPT_VM_RANDOM, name: "random" }, { bit: CKPT_VM_SEALED, name: "sealed" },
	{ bit: CKPT_VM_ACCOUNT, name: null }, // every private region that was ever writable has it: noise
	{ bit: CKPT_VM_NORESERVE, name: "noreserve" },
];

/** The union of a flag set's bits: what a record may have set. */
export function allBits(flags: readonly Flag[]): number {
	return flags.reduce((all, f) => all | f.bit, 0);
}
