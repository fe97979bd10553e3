/**
 * libckpt's status line, as other processes read it from /proc/PID/environ
 * (written by c/lib/status.c): CKPT_STATUS= followed by exactly
 * CKPT_STATUS_LEN bytes, rewritten in place, always to the same length:
 *   "seq=N state=S count=C image=PATH\nmessage=TEXT<spaces>\nend=N"
 * (the grammar's words are in c/ckpt_protocol.h, mirrored by protocol.ts).
 * A reader racing a rewrite sees seq != end and must read again.
 */
import {
	CKPT_ENV_STATUS, CKPT_STATE_FAILED, CKPT_STATE_RUNNING, CKPT_STATE_STOPPED, CKPT_STATE_WRITING, CKPT_STATE_WRITTEN,
	CKPT_STATUS_COUNT, CKPT_STATUS_END, CKPT_STATUS_ESCAPE, CKPT_STATUS_IMAGE, CKPT_STATUS_LEN, CKPT_STATUS_MESSAGE,
	CKPT_STATUS_PAD, CKPT_STATUS_SEQ, CKPT_STATUS_STATE, CKPT_STATUS_WRITER,
} from "./protocol.ts";

const STATES = [CKPT_STATE_RUNNING, CKPT_STATE_WRITING, CKPT_STATE_WRITTEN, CKPT_STATE_STOPPED, CKPT_STATE_FAILED] as const;
export type State = (typeof STATES)[number];

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

/** `text` matched literally inside a regular expression. */
const literal = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");

const LINE = new RegExp(
	`^${literal(CKPT_STATUS_SEQ)}(\\d+)${literal(CKPT_STATUS_STATE)}(${STATES.join("|")})${literal(CKPT_STATUS_COUNT)}(\\d+)` +
		`${literal(CKPT_STATUS_IMAGE)}([^\\n]*)${literal(CKPT_STATUS_MESSAGE)}([^\\n]*?)${literal(CKPT_STATUS_PAD)}*` +
		`${literal(CKPT_STATUS_END)}(\\d+)$`,
);
const ESCAPED = new RegExp(`${literal(CKPT_STATUS_ESCAPE)}([0-9A-F]{2})`, "g");

/**
 * A field as libckpt encodes it (c/lib/status.c): '%' and control characters as %XX.
 *
 * @example decodeField("/tmp/a%0Ab%25.dat") // "/tmp/a\nb%.dat"
 */
export function decodeField(text: string): string {
	return text.replace(ESCAPED, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
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
	const m = s.state === CKPT_STATE_WRITING && s.message.startsWith(CKPT_STATUS_WRITER)
		? /^(\d+)$/.exec(s.message.slice(CKPT_STATUS_WRITER.length)) : null;
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
			return name === CKPT_ENV_STATUS ? value.subarray(0, CKPT_STATUS_LEN) : value;
		}
		at = end + 1;
	}
	return undefined;
}
