/**
 * What `ckpt info` and `--json` say of a process tree (docs/process-trees.md):
 * in a root image, every process with its parent, group, session, program,
 * threads and image file; in a member image, which tree it belongs to. The
 * member images are read (beside the root image) only when the caller
 * passes a reader, so the renderers stay pure.
 */
import { basename, dirname, join } from "node:path";
import { ImageError } from "../cli/errors.ts";
import { CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE } from "./format.ts";
import { MEMBER_KINDS } from "./kinds.ts";
import { memberState } from "./tree.ts";
import type { Fd, Image, Member } from "./types.ts";

/** One process of a tree as `ckpt info` lists it; the root first. */
export interface TreeProcess {
	pid: number;
	ppid: number;
	pgid: number;
	sid: number;
	kind: number; // CKPT_MEMBER_*; the root is live
	comm: string;
	program: string | null; // its executable, from its image (null: not read, or a zombie)
	threads: number | null; // a zombie has none
	waitStatus: number | null; // a zombie's
	file: string | null; // its image's file name, beside the root image
	size: number | null;
	state: string; // "3 threads", "exited 3", "killed by SIGTERM"
	problem: string | null; // why its image is not the one this checkpoint wrote
}

/** "0000000000abcdef": how ids are printed. */
export const idText = (id: bigint) => id.toString(16).padStart(16, "0");

/** Whether the image is one process of a tree other than its root. */
export const isMemberImage = (image: Image) => image.header.treeId !== 0n && image.header.nmembers === 0;

/**
 * Every process of the tree whose root image `image` is (empty for any
 * other image). With `read`, each live member's image is read and held to
 * the member table, as a restart holds it.
 */
export function treeProcesses(image: Image, read?: (path: string) => Image): TreeProcess[] {
	if (image.members.length === 0) return [];
	const h = image.header;
	const root: TreeProcess = {
		pid: h.pid, ppid: h.ppid, pgid: h.pgid, sid: h.sid, kind: CKPT_MEMBER_LIVE, comm: h.comm, program: image.exe,
		threads: image.threads.length, waitStatus: null, file: basename(image.path), size: image.fileSize,
		state: `${image.threads.length} thread${image.threads.length === 1 ? "" : "s"}`, problem: null,
	};
	return [root, ...image.members.map((m): TreeProcess => {
		const live = m.kind === CKPT_MEMBER_LIVE;
		const p: TreeProcess = {
			pid: m.pid, ppid: m.ppid, pgid: m.pgid, sid: m.sid, kind: m.kind, comm: m.comm, program: null,
			threads: live ? m.nthreads : null, waitStatus: m.kind === CKPT_MEMBER_ZOMBIE ? m.waitStatus : null,
			file: live ? m.file : null, size: live ? Number(m.fileSize) : null, state: memberState(m), problem: null,
		};
		if (!live || !read) return p;
		try {
			const mine = read(join(dirname(image.path), m.file));
			p.program = mine.exe;
			p.problem = memberImageProblem(image, m, mine) ?? null;
		} catch (e) {
			if (!(e instanceof ImageError)) throw e;
			p.problem = e.message.slice(e.message.indexOf(": ") + 2);
		}
		return p;
	})];
}

/** Why `mine`, read from member `m`'s file, is not the image the tree's checkpoint wrote (the restart's words), or undefined. */
export function memberImageProblem(root: Image, m: Member, mine: Image): string | undefined {
	const mh = mine.header;
	if (mh.imageId !== m.imageId || BigInt(mh.fileSize) !== m.fileSize || mh.headerCrc !== m.headerCrc)
		return "not the image this checkpoint wrote (replaced or altered since)";
	if (mh.treeId !== root.header.treeId || mh.treeRootPid !== root.header.pid || mh.nmembers !== 0)
		return "belongs to another checkpoint of a process tree";
}

/** The summary's line about the tree, if the image is part of one. */
export function treeSummary(image: Image): string | undefined {
	const h = image.header;
	if (h.treeId === 0n) return undefined;
	if (isMemberImage(image))
		return `pid ${h.pid} of the process tree of pid ${h.treeRootPid} (tree id ${idText(h.treeId)}); restart the tree's root image`;
	const terminal = h.ttyPgrp ? `; the terminal's foreground group ${h.ttyPgrp}` : "";
	return `root of ${image.members.length + 1} processes (tree id ${idText(h.treeId)})${terminal}`;
}

/** The rows of the processes table: PID PPID PGID SID KIND PROGRAM STATE IMAGE SIZE. */
export function treeRows(processes: TreeProcess[], size: (n: number) => string): string[][] {
	return processes.map((p, i) => [
		String(p.pid), String(p.ppid), String(p.pgid), String(p.sid),
		i === 0 ? "root" : MEMBER_KINDS.of(p.kind)!.text,
		p.program ? `${p.program} (${p.comm})` : p.comm,
		p.state,
		p.problem ? `${p.file}: ${p.problem}` : p.file ?? "-",
		p.size === null ? "-" : size(p.size),
	]);
}

/** `--json`'s `tree` (docs/info-json.md); null for a single process. */
export function treeJson(image: Image, processes: TreeProcess[]) {
	const h = image.header;
	if (h.treeId === 0n) return null;
	const member = isMemberImage(image);
	return {
		id: idText(h.treeId),
		rootPid: h.treeRootPid,
		role: member ? "member" : "root",
		terminalGroup: member || h.ttyPgrp === 0 ? null : h.ttyPgrp,
		processes: member ? null : processes.map((p) => ({
			pid: p.pid, ppid: p.ppid, pgid: p.pgid, sid: p.sid,
			kind: MEMBER_KINDS.of(p.kind)!.json,
			comm: p.comm, program: p.program, threads: p.threads,
			exit: p.waitStatus === null ? null : {
				code: p.waitStatus & 0x7f ? null : (p.waitStatus >> 8) & 0xff,
				signal: p.waitStatus & 0x7f || null,
				text: p.state,
			},
			image: p.file === null ? null : { file: p.file, size: p.size, problem: p.problem },
		})),
	};
}

/** The open-files table's note on a description another process of the tree holds first. */
export const firstHolderText = (f: Fd) => (f.firstHolder && f.reopens === null ? `shared with pid ${f.firstHolder.pid} fd ${f.firstHolder.fd}` : "");
