/**
 * Process trees (version 6, docs/process-trees.md): the root image's member
 * table and each descriptor's first holder in the tree, decoded and checked
 * as the restore stub checks them (its check_member_table;
 * test/e2e/verify-agreement.test.ts holds the two to one verdict), and the
 * words `ckpt info` and `--json` use for them.
 */
import { CKPT_HEADER_SIZE, CKPT_MAX_FD, CKPT_MAX_MEMBERS, CKPT_MAX_SIGNALS, CKPT_MAX_THREADS, CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE, MEMBER } from "./format.ts";
import { Fields, utf8 } from "./fields.ts";
import { FD_KINDS, MEMBER_KINDS } from "./kinds.ts";
import { bareSignalName } from "../process/signals.ts";
import type { Fd, Header, Member } from "./types.ts";

/** Signals whose default action does not end a process: no zombie was ended by one. */
const NOT_ENDING = new Set([17, 18, 19, 20, 21, 22, 23, 28]);

/** Why a zombie's wait status cannot be made again, or undefined. */
function waitStatusProblem(ws: number): string | undefined {
	const sig = ws & 0x7f;
	if (sig === 0) return ws & ~0xff00 ? "has an impossible exit status (corrupt image)" : undefined;
	if (ws & ~0xff || sig === 0x7f || sig > CKPT_MAX_SIGNALS || NOT_ENDING.has(sig)) return "has an impossible exit status (corrupt image)";
	if (ws & 0x80) return "is a zombie that dumped core: a restart cannot end a process that way again";
}

const plainFileName = (s: string) => s !== "" && s !== "." && s !== ".." && !s.includes("/");

/** The member table, every record checked in the stub's order; empty for an image that is no tree's root. */
export function decodeMembers(view: DataView, h: Header, strings: Uint8Array, fail: (why: string) => never): Member[] {
	if (h.nmembers === 0) return [];
	if (h.nmembers >= CKPT_MAX_MEMBERS || h.treeId === 0n || h.treeId !== h.imageId || h.treeRootPid !== h.pid)
		fail("process tree fields are inconsistent (corrupt image)");
	const text = (off: number) => (off < strings.length ? utf8.decode(strings.subarray(off, strings.indexOf(0, off))) : "");
	const fileStrs: number[] = [];
	const members = Array.from({ length: h.nmembers }, (_, i): Member => {
		const r = new Fields(view, h.membersOff + i * MEMBER.size, MEMBER);
		fileStrs.push(r.u32("file_str"));
		return {
			pid: r.i32("pid"), ppid: r.i32("ppid"), pgid: r.i32("pgid"), sid: r.i32("sid"), kind: r.u32("kind"),
			waitStatus: r.i32("wait_status"), imageId: r.u64("image_id"), fileSize: r.u64("file_size"),
			headerCrc: r.u32("header_crc"), file: text(r.u32("file_str")), comm: r.chars("comm"), nthreads: r.u32("nthreads"),
		};
	});
	/** pid's record among the root and the first `before` members (the root stands for itself). */
	const find = (pid: number, before: number) =>
		pid === h.pid ? { pgid: h.pgid, sid: h.sid, kind: CKPT_MEMBER_LIVE } : members.slice(0, before).find((m) => m.pid === pid);
	/** Whether a stand-in for a gone leader (c/stub/tree_stand_ins.c) may take `pid`. */
	const standInPid = (pid: number) => pid > 1 && pid !== h.ppid && !find(pid, members.length);
	/** Whether the restart has a process in session `sid`: the root, a live member leading it, or a stand-in. */
	const sessionCanHold = (sid: number) => {
		if (sid === h.sid) return true;
		const leader = find(sid, members.length);
		return leader ? leader.kind === CKPT_MEMBER_LIVE && leader.sid === sid : standInPid(sid);
	};
	members.forEach((m, i) => {
		const bad = (why: string): never => fail(`the member table's pid ${m.pid} ${why}`);
		if (!MEMBER_KINDS.of(m.kind)) bad("has an unknown kind (corrupt image)");
		if (m.pid <= 1 || m.pid === h.pid || m.pid === h.ppid || find(m.pid, i)) bad("is not a pid of its own in the tree (corrupt image)");
		// its parent exited: init took it (c/stub/tree.h, member_orphaned)
		const orphaned = m.ppid === 1 && h.pid !== 1;
		if (orphaned && m.kind !== CKPT_MEMBER_LIVE) bad("is a zombie whose parent exited (corrupt image)");
		const parent = find(m.ppid, i);
		if (!orphaned && (!parent || parent.kind !== CKPT_MEMBER_LIVE))
			bad("has a parent that is neither the root nor a live member before it (corrupt image)");
		if (orphaned ? m.sid !== m.pid && !sessionCanHold(m.sid) : m.sid !== m.pid && m.sid !== parent!.sid)
			bad("is in a session it neither leads nor got from its parent (corrupt image)");
		if (m.pgid !== m.pid && m.pgid !== h.pgid) {
			// a group's leader may come later in the table (a younger sibling's child joined an older one's group)
			const leader = find(m.pgid, members.length);
			if (!leader && !(m.pgid !== m.sid && standInPid(m.pgid) && sessionCanHold(m.sid)) && !(m.pgid === m.sid && standInPid(m.sid)))
				bad("is in a process group no process of its session in the tree leads, nor a stand-in can (corrupt image)");
			if (leader && (leader.pgid !== m.pgid || leader.sid !== m.sid))
				bad("is in a process group no process of its session in the tree leads (corrupt image)");
		} else if (m.pgid === h.pgid && m.pgid !== m.pid && m.sid !== h.sid) bad("is in the root's process group but not in its session (corrupt image)");
		if (m.kind === CKPT_MEMBER_ZOMBIE) {
			const why = waitStatusProblem(m.waitStatus);
			if (why) bad(why);
			if (fileStrs[i] !== 0 || m.imageId !== 0n || m.fileSize !== 0n) bad("is a zombie with an image (corrupt image)");
			return;
		}
		if (fileStrs[i]! >= strings.length || !plainFileName(m.file)) bad("has an image file name that is not a plain file name (corrupt image)");
		if (m.imageId === 0n || m.fileSize < BigInt(CKPT_HEADER_SIZE) || m.nthreads === 0 || m.nthreads > CKPT_MAX_THREADS)
			bad("has image fields out of range (corrupt image)");
	});
	if (h.ttyPgrp !== 0 && h.ttyPgrp !== h.pgid && !members.some((m) => m.pgid === h.ttyPgrp))
		fail("the terminal's foreground group is no group of the tree (corrupt image)");
	return members;
}

/** Why an fd's first holder in the tree (share_pid, share_fd) is impossible in this image alone, or undefined. */
export function firstHolderProblem(f: Fd, h: Header): string | undefined {
	if (!f.firstHolder) return undefined;
	const { pid, fd } = f.firstHolder;
	if (pid <= 0 || pid === h.pid || fd < 0 || fd > CKPT_MAX_FD || !FD_KINDS.of(f.kind)?.sharedInTree(f))
		return `shares an open file with pid ${pid} fd ${fd}, which it cannot`;
}

/**
 * Why an fd that opens a deleted file or memfd again (reopens, version 8)
 * names no file it can, against the lower records `earlier`, or undefined:
 * in this process, a lower record of its kind that holds the file itself;
 * in a tree, its first holder's fd (that record is checked with the tree).
 */
export function reopenProblem(f: Fd, earlier: Fd[]): string | undefined {
	if (f.reopens === null) return undefined;
	if (f.firstHolder) return f.firstHolder.fd === f.reopens ? undefined : `opens again fd ${f.reopens}, not its first holder's`;
	const holder = earlier.find((o) => o.fd === f.reopens);
	if (!holder || holder.kind !== f.kind || holder.reopens !== null || holder.sharesWith !== null || holder.firstHolder)
		return `opens again the file on fd ${f.reopens}, which holds none`;
}

/** What `ckpt info` says of a member: "exited 3", "killed by SIGTERM", "3 threads". */
export function memberState(m: Member): string {
	if (m.kind === CKPT_MEMBER_ZOMBIE) return waitStatusText(m.waitStatus);
	return `${m.nthreads} thread${m.nthreads === 1 ? "" : "s"}`;
}

export function waitStatusText(ws: number): string {
	const sig = ws & 0x7f;
	return sig === 0 ? `exited ${(ws >> 8) & 0xff}` : `killed by ${bareSignalName(sig)}`;
}
