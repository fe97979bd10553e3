/**
 * `ckpt info --json`: the same facts as the table, as a stable schema for
 * scripts (documented in docs/info-json.md; bump SCHEMA_VERSION on any
 * incompatible change). 64-bit addresses are "0x..." strings, since JSON
 * numbers lose precision above 2^53; sizes and offsets are byte counts.
 * Pure: image in, plain object out.
 */
import {
	CKPT_EXTENT_DATA, CKPT_EXTENT_FILE, CKPT_EXTENT_GUARD, CKPT_EXTENT_HOLE, CKPT_FD_DELETED, CKPT_FD_FIFO,
	CKPT_FD_FILE, CKPT_FD_INHERIT, CKPT_FD_MEMFD, CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE, CKPT_FD_PROC,
	CKPT_FD_TTY, CKPT_REGION_ANON, CKPT_REGION_FILE_PRIVATE, CKPT_REGION_FILE_SHARED, CKPT_REGION_SHARED_ANON,
	CKPT_REGION_STACK, CKPT_REGION_THREAD_STACK, CKPT_REGION_UNREAD,
} from "./format.ts";
import type { Image } from "./types.ts";
import {
	clockName, fdFlags, hasOffset, lockFacts, membarrierNames, pendingSignalFacts, perms, regionName, storage, terminalModes, umaskText,
	vmFlagNames,
} from "./render.ts";
import { hex } from "../cli/text.ts";

export const SCHEMA_VERSION = 1;

const REGION_KINDS: Record<number, string> = {
	[CKPT_REGION_ANON]: "anon",
	[CKPT_REGION_STACK]: "stack",
	[CKPT_REGION_FILE_PRIVATE]: "file",
	[CKPT_REGION_FILE_SHARED]: "file-shared",
	[CKPT_REGION_SHARED_ANON]: "anon-shared",
};

const EXTENT_STORAGE: Record<number, string> = {
	[CKPT_EXTENT_DATA]: "data",
	[CKPT_EXTENT_HOLE]: "zero",
	[CKPT_EXTENT_FILE]: "file",
	[CKPT_EXTENT_GUARD]: "guard",
};

const FD_KINDS: Record<number, string> = {
	[CKPT_FD_FILE]: "file",
	[CKPT_FD_PIPE_READ]: "pipe-read",
	[CKPT_FD_PIPE_WRITE]: "pipe-write",
	[CKPT_FD_INHERIT]: "inherited",
	[CKPT_FD_TTY]: "terminal",
	[CKPT_FD_PROC]: "proc",
	[CKPT_FD_DELETED]: "deleted",
	[CKPT_FD_MEMFD]: "memfd",
	[CKPT_FD_FIFO]: "fifo",
};

export function infoJson(image: Image) {
	const h = image.header;
	const regions = image.regions.map((r) => {
		const s = storage(r);
		return {
			start: hex(r.start),
			end: hex(r.end),
			size: Number(r.end - r.start),
			perms: perms(r),
			kind: REGION_KINDS[r.kind]!,
			name: regionName(r),
			fileOffset: r.path ? Number(r.fileOffset) : null,
			threadStack: (r.flags & CKPT_REGION_THREAD_STACK) !== 0,
			unreadable: (r.flags & CKPT_REGION_UNREAD) !== 0,
			vmFlags: vmFlagNames(r),
			stored: { data: s.data, zero: s.hole, file: s.file, guard: s.guard },
			extents: r.extents.map((e) => ({ start: hex(e.start), size: e.len, storage: EXTENT_STORAGE[e.kind]! })),
		};
	});
	const dataBytes = regions.reduce((n, r) => n + r.stored.data, 0);
	const pipeBytes = image.fds.reduce((n, f) => n + f.pipeLen, 0);
	return {
		schemaVersion: SCHEMA_VERSION,
		image: { path: image.path, formatVersion: h.version, size: image.fileSize },
		program: { exe: image.exe, argv: image.argv, comm: h.comm, cwd: image.cwd },
		pid: h.pid,
		taken: {
			time: new Date(Number(h.createdNs / 1_000_000n)).toISOString(),
			captureNs: Number(h.captureNs),
			signal: h.triggerSignal,
			host: h.hostname,
			kernel: h.kernelRelease,
		},
		process: {
			umask: umaskText(h.process.umask),
			thpDisable: h.process.thpDisable,
			noNewPrivs: h.process.noNewPrivs,
			childSubreaper: h.process.childSubreaper,
			oomScoreAdj: h.process.oomScoreAdj,
			membarrier: membarrierNames(h.process.membarrier),
			loginUid: h.process.loginuid,
			groups: image.groups,
			cgroup: image.cgroup,
		},
		threads: image.threads.map((t) => ({ tid: t.tid, rip: hex(t.userRip), rsp: hex(t.userRsp), fsBase: hex(t.fsBase) })),
		regions,
		kernelMappings: h.specials.map((s) => (s.start === 0n && s.end === 0n
			? { name: s.name, start: null, end: null }
			: { name: s.name, start: hex(s.start), end: hex(s.end) })),
		files: image.fds.map((f) => ({
			fd: f.fd,
			kind: FD_KINDS[f.kind]!,
			flags: fdFlags(f),
			path: f.path,
			offset: hasOffset(f) ? Number(f.offset) : null,
			unreadBytes: f.kind === CKPT_FD_PIPE_READ || f.kind === CKPT_FD_FIFO ? f.pipeLen : null,
			storedBytes: (f.kind === CKPT_FD_DELETED || f.kind === CKPT_FD_MEMFD) && f.sharesWith === null ? f.contentLen : null,
			sameFileAs: f.sharesWith,
			locks: image.locks.filter((l) => l.fd === f.fd).map(lockFacts),
			terminalModes: f.kind === CKPT_FD_TTY ? terminalModes(f.termios) : null,
		})),
		timers: image.timers.map((t) => ({
			id: t.id,
			clock: t.clock,
			clockName: clockName(t, image.threads),
			notify: (["signal", "none", "thread", "", "thread-id"] as const)[t.notify]!,
			signal: t.notify === 1 ? null : t.signo,
			value: hex(t.value),
			targetTid: t.notify === 4 ? t.targetTid : null,
			intervalNs: Number(t.intervalNs),
			remainingNs: Number(t.remainingNs),
			overrun: t.overrun,
		})),
		signals: image.signals.map((s) => {
			const f = pendingSignalFacts(s);
			return {
				signal: s.signo, tid: s.thread === null ? null : s.tid, code: s.code, codeName: f.code,
				pid: s.code === -2 || s.code === 128 ? null : s.pid, uid: s.code === -2 || s.code === 128 ? null : s.uid,
				timerId: s.code === -2 ? s.pid : null, overrun: s.code === -2 ? s.uid : null, value: f.value,
			};
		}),
		totals: {
			imageSize: image.fileSize,
			memoryMapped: regions.reduce((n, r) => n + r.size, 0),
			memoryStored: dataBytes,
			pipeData: pipeBytes,
			fileData: image.fds.reduce((n, f) => n + f.contentLen, 0),
		},
	};
}
