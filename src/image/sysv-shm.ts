/**
 * A SysV shared memory segment's view (CKPT_REGION_SYSV_SHM, version 7,
 * c/kinds/mem_sysv.c): the record's check, as the stub's
 * mem_sysv_region_ok makes it, and what `ckpt info` says of it. The
 * region's `ino` is the segment's id, `fileSize` its size, `dev` its
 * permission bits; every view is the whole segment (partial views are
 * refused at checkpoint).
 */
import { CKPT_PAGE_SIZE, CKPT_REGION_SHM_REMOVED, CKPT_REGION_SYSV_SHM, CKPT_VM_MAYWRITE } from "./format.ts";
import type { Region } from "./types.ts";

const PAGE = BigInt(CKPT_PAGE_SIZE);
const SHMID_MAX = 0x7fffffffn;

type RegionRecord = Pick<Region, "start" | "end" | "kind" | "flags" | "fileOffset" | "fileSize" | "ino" | "dev">;

/** Why the record cannot be a view of a segment, or undefined. */
export function regionRecordProblem(r: RegionRecord): string | undefined {
	const sysv = r.kind === CKPT_REGION_SYSV_SHM;
	if (!sysv) return (r.flags & CKPT_REGION_SHM_REMOVED) !== 0 ? "marked removed but not a SysV segment" : undefined;
	if (r.fileSize === 0n || r.ino > SHMID_MAX || r.dev > 0o777n || r.fileOffset !== 0n)
		return "a SysV segment record with an impossible id, size, mode or offset";
	if (r.end - r.start !== (r.fileSize + PAGE - 1n) / PAGE * PAGE) return "a SysV segment view that is not the whole segment";
	return undefined;
}

/** The segment as `ckpt info --json` shows it on its region, or null. */
export function sysvSegment(r: Region) {
	if (r.kind !== CKPT_REGION_SYSV_SHM) return null;
	return { id: Number(r.ino), size: Number(r.fileSize), mode: Number(r.dev), removed: (r.flags & CKPT_REGION_SHM_REMOVED) !== 0 };
}

/** Its NAME column in `ckpt info`: the id programs call shmctl and shmat with. */
export function sysvSegmentText(r: Region): string {
	const s = sysvSegment(r);
	if (!s) return "";
	return `(SysV segment id ${s.id}, ${s.size} bytes, mode ${s.mode.toString(8).padStart(4, "0")}` +
		`${s.removed ? ", removed (IPC_RMID)" : ""}${(r.vmFlags & CKPT_VM_MAYWRITE) === 0 ? ", SHM_RDONLY" : ""})`;
}
