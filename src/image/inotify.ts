/**
 * The inotify kind (c/kinds/fd_inotify.c): its record and its watch table,
 * decoded and checked as the stub checks them (fd_inotify_record_problem,
 * fd_inotify_watches_problem; test/e2e/verify-agreement.test.ts holds the
 * two to one verdict), and shown by `ckpt info` and `--json`.
 */
import { CKPT_FD_INOTIFY, CKPT_INOTIFY_MAX_WD, INOTIFY_WATCH } from "./format.ts";
import { Fields } from "./fields.ts";
import type { Fd, Header, InotifyWatch } from "./types.ts";

/** The bits of a watch's mask by name (include/uapi/linux/inotify.h). */
const MASK_BITS: readonly [number, string][] = [
	[0x1, "access"], [0x2, "modify"], [0x4, "attrib"], [0x8, "close-write"], [0x10, "close-nowrite"], [0x20, "open"],
	[0x40, "moved-from"], [0x80, "moved-to"], [0x100, "create"], [0x200, "delete"], [0x400, "delete-self"],
	[0x800, "move-self"], [0x4000000, "excl-unlink"], [0x80000000, "oneshot"],
];
const ALL_EVENTS = 0xfff;
const KEPT_MASK = ALL_EVENTS | 0x4000000 | 0x80000000;
const ADD_FLAG_BITS: readonly [number, string][] = [[0x2000000, "dont-follow"], [0x1000000, "onlydir"]];
const KEPT_ADD_FLAGS = 0x2000000 | 0x1000000;

const names = (bits: number, table: readonly [number, string][]) =>
	table.filter(([bit]) => ((bits & bit) >>> 0) === bit).map(([, name]) => name);

export function inotifyProblem(f: Fd): string | undefined {
	if (f.count > BigInt(CKPT_INOTIFY_MAX_WD) || f.kindFlags !== 0) return "inotify state out of range";
}

/** The watch table, checked as the stub checks it, each watch also given to its instance. */
export function decodeInotifyWatches(view: DataView, h: Header, fds: Fd[], str: (off: number, what: () => string) => string,
	fail: (why: string) => never): InotifyWatch[] {
	const watches: InotifyWatch[] = [];
	for (let i = 0; i < h.ninotify; i++) {
		const w = new Fields(view, h.inotifyOff + i * INOTIFY_WATCH.size, INOTIFY_WATCH);
		const fd = w.i32("fd"), wd = w.i32("wd");
		const bad = (why: string): never => fail(`inotify watch ${i} (fd ${fd}, wd ${wd}): ${why} (corrupt image)`);
		const prev = watches[i - 1];
		if (prev && (fd < prev.fd || (fd === prev.fd && wd <= prev.wd))) bad("not sorted, or twice");
		const owner = fds.find((f) => f.fd === fd);
		if (!owner || owner.kind !== CKPT_FD_INOTIFY || owner.sharesWith !== null) bad("not on an inotify of the fd table");
		if (wd < 1 || BigInt(wd) > owner!.count) bad("its wd is beyond what the instance handed out");
		const mask = w.u32("mask"), addFlags = w.u32("add_flags");
		if ((mask & ALL_EVENTS) === 0 || (mask & ~KEPT_MASK) !== 0 || (addFlags & ~KEPT_ADD_FLAGS) !== 0) bad("mask or flags out of range");
		if (w.u32("pad") !== 0) bad("padding is not zero");
		const path = str(w.u32("path_str"), () => `inotify watch ${i}`);
		if (!path.startsWith("/")) bad("its path is not absolute");
		const watch = { fd, wd, mask, addFlags, ino: w.u64("ino"), dev: w.u64("dev"), path };
		watches.push(watch);
		owner!.inotifyWatches.push(watch);
	}
	return watches;
}

/** "2 watches: wd 1 /tmp/d (create|delete), wd 3 /tmp/f (modify, oneshot)". */
export function inotifyText(f: Fd): string {
	if (f.sharesWith !== null) return `as fd ${f.sharesWith}`;
	const one = (w: InotifyWatch) => `wd ${w.wd} ${w.path} (${[...names(w.mask, MASK_BITS), ...names(w.addFlags, ADD_FLAG_BITS)].join("|")})`;
	const n = f.inotifyWatches.length;
	return `${n} watch${n === 1 ? "" : "es"}${n ? ": " : ""}${f.inotifyWatches.map(one).join(", ")}`;
}

export function inotifyFacts(f: Fd) {
	return {
		lastWd: Number(f.count),
		watches: f.inotifyWatches.map((w) => ({
			wd: w.wd, path: w.path, mask: names(w.mask, MASK_BITS), flags: names(w.addFlags, ADD_FLAG_BITS),
			inode: Number(w.ino), device: Number(w.dev),
		})),
	};
}
