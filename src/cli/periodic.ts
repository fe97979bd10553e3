/**
 * Parsing --interval and --keep, the options of periodic checkpoints
 * (run, restart, run-or-restart). The watcher that acts on them is
 * src/process/watcher.ts; the rotation --keep asks for, libckpt's
 * c/lib/image_rotation.c.
 */
import { UsageError } from "./errors.ts";
import { CKPT_KEEP_MAX } from "../protocol/protocol.ts";

export interface PeriodicSettings {
	/** Milliseconds between two requests. */
	periodMs: number;
	/** Complete checkpoints kept: the image path and PATH.1 ... PATH.(keep-1). */
	keep: number;
}

/** Below this, a program would spend its time being checkpointed. */
export const MIN_INTERVAL_MS = 100;
/** The most the watcher takes (its argument check): 2^40 ms, about 34 years. */
const MAX_INTERVAL_MS = 2 ** 40;
/** One image: every checkpoint replaces the last, atomically, so the newest complete one is always there. */
export const DEFAULT_KEEP = 1;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as typed after --interval, in milliseconds; a UsageError
 * naming the option otherwise. A unit is required: a bare 90 could mean
 * seconds or minutes.
 *
 * @example parseInterval("90s") // 90000
 * @example parseInterval("1.5h") // 5400000
 */
export function parseInterval(text: string): number {
	const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
	const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : NaN;
	if (!m) throw new UsageError(`--interval '${text}': give a number and a unit, ms, s, m or h (e.g. 500ms, 90s, 10m, 1h)`);
	if (ms < MIN_INTERVAL_MS) throw new UsageError(`--interval '${text}': the shortest interval is ${MIN_INTERVAL_MS}ms`);
	if (ms > MAX_INTERVAL_MS) throw new UsageError(`--interval '${text}': too long`);
	return ms;
}

/**
 * --keep's value: a whole number from 1 to CKPT_KEEP_MAX.
 *
 * @example parseKeep("2") // 2
 */
export function parseKeep(text: string): number {
	if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > CKPT_KEEP_MAX)
		throw new UsageError(`--keep '${text}': give a whole number of checkpoints from 1 to ${CKPT_KEEP_MAX}`);
	return Number(text);
}

/**
 * The periodic settings in raw option values (argv.ts keeps them as typed),
 * or undefined without --interval. --keep alone is refused: it is carried
 * by the periodic requests, so without them it would do nothing.
 *
 * @example periodicSettings({ interval: "10m", keep: "3" }) // { periodMs: 600000, keep: 3 }
 */
export function periodicSettings(values: Record<string, string>): PeriodicSettings | undefined {
	if (values.interval === undefined) {
		if (values.keep !== undefined) throw new UsageError("--keep needs --interval: it says how many periodic checkpoints to keep");
		return undefined;
	}
	return { periodMs: parseInterval(values.interval), keep: values.keep === undefined ? DEFAULT_KEEP : parseKeep(values.keep) };
}
