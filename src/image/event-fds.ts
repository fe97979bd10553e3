/**
 * The event-loop descriptor kinds (eventfd, signalfd, timerfd;
 * c/kinds/fd_eventfd.c, fd_signalfd.c, fd_timerfd.c): what their records
 * hold, as `ckpt info` and `--json` show it, and the record checks the
 * stub makes of them (fd_*_record_problem), which the reader must make
 * too: test/e2e/verify-agreement.test.ts holds the two to one verdict.
 */
import { bareSignalName } from "../process/signals.ts";
import { duration, localTime } from "../cli/text.ts";
import { clockIdName, validTime } from "./clocks.ts";
import type { Fd } from "./types.ts";

const EFD_SEMAPHORE = 1;
const TFD_TIMER_ABSTIME = 1;
const CLOCK_REALTIME = 0;
/** The clocks a timerfd is restored on (alarm clocks are refused at checkpoint). */
const TIMERFD_CLOCKS = [CLOCK_REALTIME, 1, 7];
/** The most an eventfd counter holds: a write of more is refused. */
const EVENTFD_MAX = 0xfffffffffffffffen;
const NS = 1_000_000_000n;

export function eventfdProblem(f: Fd): string | undefined {
	if ((f.kindFlags & ~EFD_SEMAPHORE) !== 0 || f.count > EVENTFD_MAX) return "eventfd state out of range";
}

export function timerfdProblem(f: Fd): string | undefined {
	if (!TIMERFD_CLOCKS.includes(f.clock) || (f.kindFlags & ~TFD_TIMER_ABSTIME) !== 0 ||
		!validTime(f.intervalSec, f.intervalNsec) || !validTime(f.remainingSec, f.remainingNsec))
		return "timerfd clock, flags or times out of range";
}

/** An absolute CLOCK_REALTIME timer: the record holds its time, not the time left. */
const dueAtRealtime = (f: Fd) => (f.kindFlags & TFD_TIMER_ABSTIME) !== 0 && f.clock === CLOCK_REALTIME;
const remainingNs = (f: Fd) => f.remainingSec * NS + f.remainingNsec;

export function eventfdFacts(f: Fd) {
	return { count: Number(f.count), semaphore: (f.kindFlags & EFD_SEMAPHORE) !== 0 };
}

/** Signal numbers of a signalfd's mask, lowest first (bit n-1: signal n). */
export function signalfdSignals(f: Fd): number[] {
	const out: number[] = [];
	for (let n = 1; n <= 64; n++) if ((f.sigmask >> BigInt(n - 1)) & 1n) out.push(n);
	return out;
}

export function timerfdFacts(f: Fd) {
	const left = remainingNs(f);
	const at = dueAtRealtime(f) && left > 0n;
	return {
		clock: f.clock,
		clockName: clockIdName(f.clock),
		absolute: (f.kindFlags & TFD_TIMER_ABSTIME) !== 0,
		intervalNs: Number(f.intervalSec * NS + f.intervalNsec),
		remainingNs: at ? null : Number(left),
		dueAt: at ? new Date(Number(left / 1_000_000n)).toISOString() : null,
		pending: Number(f.count),
	};
}

export const eventfdText = (f: Fd) => {
	const e = eventfdFacts(f);
	return `eventfd (count ${f.count}${e.semaphore ? ", semaphore" : ""})`;
};

export const signalfdText = (f: Fd) => {
	const signals = signalfdSignals(f);
	return `signalfd (${signals.length ? signals.map(bareSignalName).join(" ") : "no signals"})`;
};

export const timerfdText = (f: Fd) => {
	const t = timerfdFacts(f);
	const parts = [t.clockName];
	if (t.intervalNs) parts.push(`every ${duration(BigInt(t.intervalNs))}`);
	if (t.dueAt !== null) parts.push(`at ${localTime(Number(remainingNs(f) / 1_000_000n))}`);
	else if (t.remainingNs) parts.push(`${t.absolute ? "absolute, " : ""}next in ${duration(BigInt(t.remainingNs))}`);
	else parts.push("disarmed");
	if (t.pending) parts.push(`${f.count} pending`);
	return `timerfd (${parts.join(", ")})`;
};
