/**
 * `ckpt info --json`: the same facts as the table, as a stable schema for
 * scripts (documented in docs/info-json.md; bump SCHEMA_VERSION on any
 * incompatible change). 64-bit addresses are "0x..." strings, since JSON
 * numbers lose precision above 2^53; sizes and offsets are byte counts.
 * Pure: image in, plain object out.
 */
import { inotifyFacts } from "./inotify.ts";
import { CKPT_FD_EPOLL, CKPT_FD_FILE, CKPT_FD_INOTIFY, CKPT_FD_EVENTFD, CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_UNIX_SOCKET, CKPT_FD_INET_SOCKET, CKPT_REGION_THREAD_STACK, CKPT_REGION_UNREAD, CKPT_TSC_SIGSEGV } from "./format.ts";
import { socketFacts } from "./sockets.ts";
import { sysvSegment } from "./sysv-shm.ts";
import { eventfdFacts, signalfdSignals, timerfdFacts } from "./event-fds.ts";
import {
	bytesInImage, fdFlags, storedLength, lockFacts, membarrierNames, pendingSignalFacts, perms, regionName, storage, umaskText,
	vmFlagNames, schedulingFacts, credentialFacts, mempolicyFacts,
} from "./facts.ts";
import { clockName } from "./clocks.ts";
import { CODEC_NAMES, epollEventNames, EXTENT_KINDS, FD_KINDS, keptFile, LIBC_NAMES, MCE_KILL_POLICIES, REGION_KINDS, TRACKING_NAMES } from "./kinds.ts";
import { terminalModes } from "./terminal-modes.ts";
import { treeJson, treeProcesses, type TreeProcess } from "./tree-info.ts";
import type { Image } from "./types.ts";
import { hex } from "../cli/text.ts";

export const SCHEMA_VERSION = 1;

/** `processes`: as for renderInfo (render.ts). */
export function infoJson(image: Image, processes: TreeProcess[] = treeProcesses(image)) {
	const h = image.header;
	const regions = image.regions.map((r) => {
		const s = storage(r);
		return {
			start: hex(r.start),
			end: hex(r.end),
			size: Number(r.end - r.start),
			perms: perms(r),
			kind: REGION_KINDS.of(r.kind)!.json,
			name: regionName(r),
			fileOffset: r.path ? Number(r.fileOffset) : null,
			sysvSegment: sysvSegment(r),
			threadStack: (r.flags & CKPT_REGION_THREAD_STACK) !== 0,
			unreadable: (r.flags & CKPT_REGION_UNREAD) !== 0,
			vmFlags: vmFlagNames(r),
			memoryPolicy: mempolicyFacts(r),
			stored: s,
			extents: r.extents.map((e) => ({ start: hex(e.start), size: e.len, storage: EXTENT_KINDS.of(e.kind)!.json })),
		};
	});
	const dataBytes = regions.reduce((n, r) => n + bytesInImage(r.stored), 0);
	const pipeBytes = image.fds.reduce((n, f) => n + f.pipeLen, 0);
	return {
		schemaVersion: SCHEMA_VERSION,
		image: { path: image.path, formatVersion: h.version, size: image.fileSize, compression: CODEC_NAMES[h.codec] },
		program: { exe: image.exe, argv: image.argv, comm: h.comm, cwd: image.cwd },
		pid: h.pid,
		ppid: h.ppid,
		pgid: h.pgid,
		sid: h.sid,
		tree: treeJson(image, processes),
		taken: {
			time: new Date(Number(h.createdNs / 1_000_000n)).toISOString(),
			captureNs: Number(h.captureNs),
			signal: h.triggerSignal,
			host: h.hostname,
			kernel: h.kernelRelease,
			libc: LIBC_NAMES[h.libc],
		},
		incremental: {
			imageId: h.imageId.toString(16).padStart(16, "0"),
			tracking: TRACKING_NAMES[h.tracking]![0],
			chain: h.links.map((l) => ({ imageId: l.imageId.toString(16).padStart(16, "0"), size: Number(l.fileSize) })),
		},
		process: {
			umask: umaskText(h.process.umask),
			personality: h.personality,
			mdwe: h.mdwe,
			dumpable: h.dumpable,
			coredumpFilter: h.coredumpFilter,
			thpDisable: h.process.thpDisable,
			noNewPrivs: h.process.noNewPrivs,
			childSubreaper: h.process.childSubreaper,
			oomScoreAdj: h.process.oomScoreAdj,
			membarrier: membarrierNames(h.process.membarrier),
			loginUid: h.process.loginuid,
			groups: image.groups,
			cgroup: image.cgroup,
		},
		threads: image.threads.map((t) => ({
			tid: t.tid, name: t.name, rip: hex(t.userRip), rsp: hex(t.userRsp), fsBase: hex(t.fsBase), cpus: t.cpus, parentDeathSignal: t.pdeathSignal || null,
			scheduling: schedulingFacts(t), credentials: credentialFacts(t), memoryPolicy: mempolicyFacts(t),
			rdtscFaults: t.tscMode === CKPT_TSC_SIGSEGV, machineCheckKill: MCE_KILL_POLICIES[t.mceKill] ?? "?",
		})),
		regions,
		kernelMappings: h.specials.map((s) => (s.start === 0n && s.end === 0n
			? { name: s.name, start: null, end: null }
			: { name: s.name, start: hex(s.start), end: hex(s.end) })),
		files: image.fds.map((f) => {
			const kind = FD_KINDS.of(f.kind)!;
			return {
				fd: f.fd,
				kind: kind.json,
				flags: fdFlags(f),
				path: f.path,
				offset: kind.offset ? Number(f.offset) : null,
				unreadBytes: kind.unread ? f.pipeLen : null,
				storedBytes: kind.stored && (f.kind !== CKPT_FD_FILE || keptFile(f)) && f.sharesWith === null && f.reopens === null && !f.firstHolder ? f.contentLen : null,
				sameFileAs: f.sharesWith,
				sharedWith: f.reopens === null ? f.firstHolder : null,
				opensAgain: f.reopens === null ? null : { pid: f.firstHolder?.pid ?? null, fd: f.reopens },
				locks: image.locks.filter((l) => l.fd === f.fd).map(lockFacts),
				terminalModes: kind.terminal ? terminalModes(f.termios) : null,
				eventfd: f.kind === CKPT_FD_EVENTFD ? eventfdFacts(f) : null,
				signalfd: f.kind === CKPT_FD_SIGNALFD ? { signals: signalfdSignals(f) } : null,
				timerfd: f.kind === CKPT_FD_TIMERFD ? timerfdFacts(f) : null,
				socket: (f.kind === CKPT_FD_UNIX_SOCKET || f.kind === CKPT_FD_INET_SOCKET) && f.sharesWith === null ? socketFacts(f) : null,
				watches: f.kind === CKPT_FD_EPOLL && f.sharesWith === null
					? f.watches.map((w) => ({ fd: w.fd, events: epollEventNames(w.events), data: hex(w.data) }))
					: null,
				inotify: f.kind === CKPT_FD_INOTIFY && f.sharesWith === null ? inotifyFacts(f) : null,
			};
		}),
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
			memoryCompressed: storedLength(image.regions),
			pipeData: pipeBytes,
			fileData: image.fds.reduce((n, f) => n + f.contentLen, 0),
		},
	};
}
