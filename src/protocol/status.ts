/**
 * libckpt's status line, as other processes read it from /proc/PID/environ
 * (written by c/lib/status.c): CKPT_STATUS= followed by exactly
 * CKPT_STATUS_LEN bytes, rewritten in place, always to the same length:
 *   "seq=N state=S count=C image=PATH\nmessage=TEXT<spaces>\nend=N"
 * A reader racing a rewrite sees seq != end and must read again.
 */

/**
 * Room for libckpt's status line (c/lib/status.c), which other processes
 * read through /proc/PID/environ: a path of PATH_MAX bytes and a message.
 * The launcher reserves it as that many spaces.
 */
export const CKPT_STATUS_LEN = 4608;

export type State = "running" | "writing" | "written" | "stopped" | "failed";

export interface Status {
	seq: number;
	state: State;
	/** Checkpoints completed (written or stopped) by this process so far. */
	count: number;
	image: string;
	message: string;
}

/** A launched process whose libckpt has not written its first line yet: the block is still all spaces. */
export const NOT_STARTED = "not started";

const LINE = /^seq=(\d+) state=(running|writing|written|stopped|failed) count=(\d+) image=([^\n]*)\nmessage=([^\n]*?) *\nend=(\d+)$/;

/**
 * A field as libckpt encodes it (c/lib/status.c): '%' and control characters as %XX.
 *
 * @example decodeField("/tmp/a%0Ab%25.dat") // "/tmp/a\nb%.dat"
 */
export function decodeField(text: string): string {
	return text.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Decode one status block. null: torn (caught mid-rewrite) or not a status
 * line at all; the caller reads again.
 *
 * @example parseStatus("seq=2 state=written count=1 image=/x.dat\nmessage=   \nend=2")
 * // { seq: 2, state: "written", count: 1, image: "/x.dat", message: "" }
 */
export function parseStatus(block: string): Status | typeof NOT_STARTED | null {
	if (block.trim() === "") return NOT_STARTED;
	const m = LINE.exec(block);
	if (!m || m[1] !== m[6]) return null;
	return { seq: Number(m[1]), state: m[2] as State, count: Number(m[3]), image: decodeField(m[4]!), message: decodeField(m[5]!) };
}

/**
 * The pid of the background writer a --continue checkpoint was handed to
 * (state writing, message "writer N"): that copy of the program writes the
 * image and exits, and cannot update this status line, so the image is
 * complete when that process is gone and the image is new.
 */
export function backgroundWriter(s: Status): number | null {
	const m = s.state === "writing" ? /^writer (\d+)$/.exec(s.message) : null;
	return m ? Number(m[1]) : null;
}

/**
 * The value of `name` in a raw environment block (NUL-separated `K=V`
 * entries), or undefined. CKPT_STATUS is cut to exactly its fixed length,
 * so a status block is never mixed with whatever follows it.
 */
export function envValue(environ: Uint8Array, name: string): Uint8Array | undefined {
	const key = new TextEncoder().encode(`${name}=`);
	for (let at = 0; at < environ.length; ) {
		let end = environ.indexOf(0, at);
		if (end < 0) end = environ.length;
		if (end - at >= key.length && key.every((b, i) => environ[at + i] === b)) {
			const value = environ.subarray(at + key.length, end);
			return name === "CKPT_STATUS" ? value.subarray(0, CKPT_STATUS_LEN) : value;
		}
		at = end + 1;
	}
	return undefined;
}
