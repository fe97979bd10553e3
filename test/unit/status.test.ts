import { expect, test } from "bun:test";
import { CKPT_STATUS_LEN } from "../../src/protocol/protocol.ts";
import { backgroundWriter, envValue, NOT_STARTED, parseStatus } from "../../src/protocol/status.ts";

/** A block exactly as c/lib/status.c lays it out. */
function block(seq: number, state: string, count: number, image: string, message = "", end = seq): string {
	const head = `seq=${seq} state=${state} count=${count} image=${image}\nmessage=${message}`;
	const tail = `\nend=${end}`;
	return head + " ".repeat(CKPT_STATUS_LEN - head.length - tail.length) + tail;
}

test("a status line, every state", () => {
	for (const state of ["running", "writing", "written", "stopped", "failed"])
		expect(parseStatus(block(3, state, 1, "/tmp/my ckpt.dat"))).toEqual({
			seq: 3, state, count: 1, image: "/tmp/my ckpt.dat", message: "",
		} as never);
	expect(parseStatus(block(9, "failed", 2, "/x.dat", "cannot write /x.dat: No space left on device"))).toMatchObject({
		state: "failed", message: "cannot write /x.dat: No space left on device",
	});
});

test("a rewrite caught midway, garbage, and a block libckpt has not filled yet", () => {
	expect(parseStatus(block(4, "writing", 0, "/x.dat", "", 3))).toBeNull();
	expect(parseStatus("seq=1 state=exploded count=0 image=/x\nmessage=\nend=1")).toBeNull();
	expect(parseStatus("hello")).toBeNull();
	expect(parseStatus(" ".repeat(CKPT_STATUS_LEN))).toBe(NOT_STARTED);
});

test("envValue finds whole entries only, and cuts CKPT_STATUS to its fixed length", () => {
	const env = new TextEncoder().encode(`A=1\0CKPT_SIGNAL_BLOCKED=1\0CKPT_SIGNAL=10\0XCKPT_IMAGE=no\0CKPT_STATUS=${block(1, "running", 0, "/a")}\0`);
	const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));
	expect(text(envValue(env, "CKPT_SIGNAL"))).toBe("10");
	expect(text(envValue(env, "CKPT_IMAGE"))).toBeUndefined();
	expect(text(envValue(env, "A"))).toBe("1");
	expect(envValue(env, "CKPT_STATUS")!.length).toBe(CKPT_STATUS_LEN);
	expect(envValue(new Uint8Array(), "A")).toBeUndefined();
});

test("a checkpoint handed to a background writer names its pid", () => {
	const s = (state: string, message: string) => parseStatus(block(5, state, 1, "/a", message)) as Exclude<ReturnType<typeof parseStatus>, null | string>;
	expect(backgroundWriter(s("writing", "writer 4711"))).toBe(4711);
	expect(backgroundWriter(s("writing", ""))).toBeNull();
	expect(backgroundWriter(s("failed", "writer 4711"))).toBeNull();
});
