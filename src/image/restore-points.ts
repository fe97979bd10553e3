/**
 * The addresses a restore jumps to or writes through must lie in memory the
 * image restores, with the access it needs: each thread's resume point
 * (code to run, a stack to pop), glibc's tid word, the rseq area, libckpt's
 * restart block; and the vDSO's saved place must be free of regions. The
 * restore stub refuses an image otherwise (c/stub/validate.c: check_specials,
 * check_threads), so this reader does too: both refuse the same images.
 */
import { CKPT_LIBC_MUSL, CKPT_MCE_KILL_DEFAULT, CKPT_MUSL_TID_OFFSET, CKPT_TSC_ENABLE, CKPT_TSC_SIGSEGV, CKPT_PAGE_SIZE, CKPT_MEMPOLICY_FLAGS, CKPT_MEMPOLICY_MODE_MAX, CKPT_SCHED_RESET_ON_FORK, CKPT_SECUREBITS_KNOWN, RESTART_INFO } from "./format.ts";
import { USER_SPACE_END } from "./header.ts";
import type { Header, Region, Thread } from "./types.ts";

const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
const PAGE = BigInt(CKPT_PAGE_SIZE);
const U64 = (1n << 64n) - 1n;

/**
 * Whether [addr, addr+len) lies in restored memory with all of `prot`,
 * possibly across adjacent regions (a .data page next to .bss); `addr`
 * wraps as a u64 does.
 */
export function inRestoredMemory(regions: readonly Region[], addr: bigint, len: bigint, prot: number): boolean {
	let at = addr & U64;
	const end = at + len;
	if (end > U64) return false;
	for (const r of regions) {
		if (at >= end) break;
		if (at >= r.start && at < r.end) {
			if ((r.prot & prot) !== prot) return false;
			at = r.end;
		}
	}
	return at >= end;
}

/** Where the program's libc keeps thread `t`'s id, as ckpt_tid_word() in ckpt_format.h (0: nowhere known). */
export function tidWord(libc: number, t: Thread): bigint {
	return libc === CKPT_LIBC_MUSL ? t.fsBase + BigInt(CKPT_MUSL_TID_OFFSET) : t.clearChildTid;
}

/** As the stub's check_threads: nice -20 to 19; OTHER, FIFO, RR, BATCH or IDLE; a priority for FIFO and RR only; an I/O class to 3. */
function schedulingValid(t: Thread): boolean {
	const policy = t.schedPolicy & ~CKPT_SCHED_RESET_ON_FORK;
	const realtime = policy === 1 || policy === 2;
	return t.nice >= -20 && t.nice <= 19 && policy <= 5 && policy !== 4 && t.schedPriority <= 99 &&
		realtime === (t.schedPriority !== 0) && t.ioprio >>> 13 <= 3;
}

/** As ckpt_mempolicy_valid (c/ckpt_format_thread.h): a known mode, and nodes only where the mode names some. */
export function mempolicyValid(mode: number, pad: number, nodes: bigint): boolean {
	const base = mode & ~CKPT_MEMPOLICY_FLAGS;
	return base <= CKPT_MEMPOLICY_MODE_MAX && pad === 0 && (base !== 0 || nodes === 0n);
}

/** As the stub's check_threads: effective within permitted, ambient within permitted and inheritable, known securebits. */
function credsValid({ creds: c }: Thread): boolean {
	return (c.effective & ~c.permitted) === 0n && (c.ambient & ~(c.permitted & c.inheritable)) === 0n &&
		(c.securebits & ~CKPT_SECUREBITS_KNOWN) === 0 && c.pad === 0;
}

export function checkRestorePoints(fail: (why: string) => never, h: Header, threads: readonly Thread[], regions: readonly Region[]): void {
	let prev = 0n;
	for (const { name, start, end } of h.specials) {
		if (start === 0n && end === 0n) continue;
		if (start < prev || start >= end || start % PAGE !== 0n || end % PAGE !== 0n || end > USER_SPACE_END)
			fail(`${name} placement is inconsistent (corrupt image)`);
		prev = end;
		if (regions.some((r) => start < r.end && end > r.start)) fail(`a region overlaps ${name} (corrupt image)`);
	}
	threads.forEach((t, i) => {
		if (!inRestoredMemory(regions, t.resume.rsp - 8n, 8n, PROT_READ | PROT_WRITE) || !inRestoredMemory(regions, t.resume.rip, 1n, PROT_EXEC))
			fail(`thread ${i}: its resume point is not in restored memory (corrupt image)`);
		const word = tidWord(h.libc, t);
		if ((t.clearChildTid !== 0n && !inRestoredMemory(regions, t.clearChildTid, 4n, PROT_WRITE)) ||
			(word !== 0n && !inRestoredMemory(regions, word, 4n, PROT_WRITE)) ||
			(t.rseqAddr !== 0n && (!inRestoredMemory(regions, t.rseqAddr, BigInt(t.rseqLen), PROT_WRITE) || t.rseqAddr % 32n !== 0n || t.rseqLen < 32)))
			fail(`thread ${i}: its state points outside restored memory (corrupt image)`);
		if (t.pdeathSignal > 64) fail(`thread ${i}: its parent-death signal is not a signal (corrupt image)`);
		if ((t.tscMode !== CKPT_TSC_ENABLE && t.tscMode !== CKPT_TSC_SIGSEGV) || t.mceKill > CKPT_MCE_KILL_DEFAULT)
			fail(`thread ${i}: its time-stamp counter mode or machine-check policy is invalid (corrupt image)`);
		if (!schedulingValid(t)) fail(`thread ${i}: its scheduling is invalid (corrupt image)`);
		if (!credsValid(t)) fail(`thread ${i}: its credentials are invalid (corrupt image)`);
		if (!t.nameTerminated) fail(`thread ${i}: its name is not NUL-terminated (corrupt image)`);
		if (!mempolicyValid(t.mempolicy, t.padMempolicy, t.mempolicyNodes)) fail(`thread ${i}: its memory policy is invalid (corrupt image)`);
	});
	if (!inRestoredMemory(regions, h.restartInfoAddr, BigInt(RESTART_INFO.size), PROT_WRITE))
		fail("libckpt's restart block is not in restored memory (corrupt image)");
}
