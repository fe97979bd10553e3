/**
 * The clock of a POSIX timer as an image stores it: a clockid_t, CPU
 * clocks in the kernel's encoding for pid or tid 0. One rule says which
 * clocks count one thread's CPU time, for the reader's check of the
 * thread it names and for the name `ckpt info` gives it.
 */
import type { Timer } from "./types.ts";

/**
 * A thread's CPU clock (pthread_getcpuclockid): CPU clocks are negative,
 * their low two bits the clock type (3 is CLOCKFD, a descriptor's clock), bit 2
 * set for a thread's rather than the process's.
 */
export function isThreadCpuClock(clock: number): boolean {
	return clock < 0 && (clock & 3) !== 3 && (clock & 4) !== 0;
}

/** A time as the kernel takes it (struct timespec): never negative, nanoseconds below a second. */
export const validTime = (sec: bigint, nsec: bigint) => sec >= 0n && nsec >= 0n && nsec < 1_000_000_000n;

const CLOCK_NAMES: Record<number, string> = {
	0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID", 7: "CLOCK_BOOTTIME", 11: "CLOCK_TAI",
	// this process's CPU clocks, as the kernel encodes them for pid 0 (clock_getcpuclockid gives -6)
	[-6]: "process CPU time", [-7]: "process CPU time (user)", [-8]: "process CPU time (user+system, prof)",
};

/** A clock id by name: "CLOCK_MONOTONIC", or "clock 42". */
export function clockIdName(clock: number): string {
	return CLOCK_NAMES[clock] ?? `clock ${clock}`;
}

/** A timer's clock by name: "CLOCK_MONOTONIC", "CPU time of thread 4242 (#1)", or the raw id. */
export function clockName(t: Timer, threads: { tid: number }[]): string {
	if (isThreadCpuClock(t.clock))
		return `CPU time of thread ${threads[t.clockThread]?.tid ?? "?"} (#${t.clockThread})`;
	return clockIdName(t.clock);
}
