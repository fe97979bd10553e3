/**
 * Parsing --signal: the signal that tells a running program to checkpoint.
 * It must be one libckpt can catch and that nothing else relies on.
 */
import { UsageError } from "../cli/errors.ts";
import { CKPT_DEFAULT_SIGNAL } from "../protocol/protocol.ts";

export const DEFAULT_SIGNAL = CKPT_DEFAULT_SIGNAL; // SIGUSR2

/**
 * Linux's signal numbers on x86-64 (fixed by the ABI), canonical names
 * first, then aliases. A table, not node:os's: loading that module would
 * cost every start a part of a millisecond.
 */
const SIGNALS: Record<string, number> = {
	SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
	SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
	SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
	SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
	SIGIOT: 6, SIGPOLL: 29,
};

/** "SIGUSR2" for a signal with a name, else its number. */
export function bareSignalName(n: number): string {
	return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) ?? `${n}`;
}

/**
 * "SIGUSR2 (12)" for a signal with a name, else just the number.
 *
 * @example signalName(10) // "SIGUSR1 (10)"
 */
export function signalName(n: number): string {
	const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
	return name ? `${name} (${n})` : `${n}`;
}

/** glibc's SIGRTMIN: 32 and 33 are reserved for its own threads and set*id(). */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Signals that cannot be caught, fault signals a program raises by itself, glibc-internal ones. */
const UNUSABLE: Record<number, string> = {
	9: "SIGKILL cannot be caught",
	19: "SIGSTOP cannot be caught",
	4: "SIGILL is raised by faults",
	7: "SIGBUS is raised by faults",
	8: "SIGFPE is raised by faults",
	11: "SIGSEGV is raised by faults",
	32: "signal 32 is reserved by glibc",
	33: "signal 33 is reserved by glibc",
};

/**
 * Signal number for "USR1", "SIGUSR1", "usr1", "10", "RTMIN+2".
 * Throws UsageError for unknown or unusable signals.
 *
 * @example parseSignal("USR1") // 10
 */
export function parseSignal(text: string): number {
	const s = text.trim().toUpperCase().replace(/^SIG/, "");
	let n: number | undefined;
	if (/^\d+$/.test(s)) n = Number(s);
	else if (/^RTMIN(\+\d+)?$/.test(s)) n = SIGRTMIN + Number(s.slice(5) || 0);
	else if (/^RTMAX(-\d+)?$/.test(s)) n = SIGRTMAX + Number(s.slice(5) || 0);
	else n = Object.hasOwn(SIGNALS, `SIG${s}`) ? SIGNALS[`SIG${s}`] : undefined;
	if (n === undefined || !Number.isInteger(n) || n < 1 || n > SIGRTMAX)
		throw new UsageError(`--signal: unknown signal '${text}' (try USR1, USR2, or a number 1-64)`);
	const why = UNUSABLE[n];
	if (why) throw new UsageError(`--signal: ${why}; pick another (the default is USR2)`);
	return n;
}
