/**
 * What `ckpt checkpoint` and the interactive menu's "checkpoint" share:
 * how long they wait for the image, and the line that reports it.
 */
import { CKPT_EXIT_CHECKPOINTED } from "../protocol/protocol.ts";
import type { CheckpointResult } from "../protocol/checkpoint-request.ts";
import { bytes, duration, shellQuote } from "./text.ts";

/** How long both wait for the image unless told otherwise (`--timeout`). */
export const DEFAULT_TIMEOUT_S = 600;

/**
 * @example describeResult({ pid: 42, image: "/x.dat", size: 2048, ms: 3.1, stopped: false })
 * // "checkpoint of 42 written to /x.dat (2.0 KiB, 3.1 ms); it continues"
 */
export function describeResult(r: CheckpointResult): string {
	const size = r.size === null ? "size unknown" : bytes(r.size);
	const then = r.stopped ? `it stopped with exit status ${CKPT_EXIT_CHECKPOINTED}` : "it continues";
	// A newline in the name would break the one line: such a name is shown quoted.
	const image = /[\x00-\x1f\x7f]/.test(r.image) ? shellQuote(r.image) : r.image;
	return `checkpoint of ${r.pid} written to ${image} (${size}, ${duration(BigInt(Math.round(r.ms * 1e6)))}); ${then}`;
}
