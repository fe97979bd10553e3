/**
 * The event-loop kinds as `ckpt info` and `--json` show them, from records
 * with known state (src/image/event-fds.ts), and the reader's record
 * checks refusing what the stub's refuse (c/kinds/fd_eventfd.c,
 * fd_timerfd.c; test/e2e/verify-agreement.test.ts compares the two on
 * real images).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CKPT_FD_EVENTFD, CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, FD } from "../../src/image/format.ts";
import { infoJson } from "../../src/image/json.ts";
import { readImage } from "../../src/image/read.ts";
import { renderInfo } from "../../src/image/render.ts";
import { buildImage, defaultSpec, poke, recordOffset } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-evfds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An image whose fds 3-7 are two eventfds, a signalfd and two timerfds, in a known state. */
function image(): Uint8Array {
	const spec = defaultSpec();
	spec.fds = [3, 4, 5, 6, 7].map((fd) => ({ fd, kind: [CKPT_FD_EVENTFD, CKPT_FD_EVENTFD, CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_TIMERFD][fd - 3]! }));
	const img = buildImage(spec);
	const set = (i: number, field: string, v: number | bigint) => poke(img, FD, recordOffset(img, "fds", i), field, v);
	set(0, "count", 3n), set(0, "kind_flags", 1);
	set(1, "count", 5_000_000_000n);
	set(2, "sigmask", (1n << 1n) | (1n << 14n) | (1n << 34n)); // SIGINT SIGTERM 35
	set(3, "clock", 1), set(3, "interval_nsec", 100_000_000), set(3, "remaining_nsec", 40_000_000), set(3, "count", 2n);
	set(4, "clock", 0), set(4, "kind_flags", 1), set(4, "remaining_sec", 1_700_000_000n); // absolute: its time
	return img;
}

test("each shows its state: counter and semaphore, signals, clock, period, next expiry and unread expirations", () => {
	const p = join(dir, "ok.dat");
	writeFileSync(p, image());
	const img = readImage(p);
	const text = renderInfo(img, 0);
	expect(text).toMatch(/^ +3 +eventfd .* eventfd \(count 3, semaphore\)$/m);
	expect(text).toMatch(/^ +4 +eventfd .* eventfd \(count 5000000000\)$/m);
	expect(text).toMatch(/^ +5 +signalfd .* signalfd \(SIGINT SIGTERM 35\)$/m);
	expect(text).toMatch(/^ +6 +timerfd .* timerfd \(CLOCK_MONOTONIC, every 100\.0 ms, next in 40\.0 ms, 2 pending\)$/m);
	expect(text).toMatch(/^ +7 +timerfd .* timerfd \(CLOCK_REALTIME, at 2023-11-1\d \d\d:\d\d:\d\d [+-]\d\d:\d\d\)$/m);
	const files = infoJson(img).files;
	expect(files[0]).toMatchObject({ kind: "eventfd", path: "", eventfd: { count: 3, semaphore: true }, signalfd: null, timerfd: null });
	expect(files[2]!.signalfd).toEqual({ signals: [2, 15, 35] });
	expect(files[3]!.timerfd).toEqual({
		clock: 1, clockName: "CLOCK_MONOTONIC", absolute: false, intervalNs: 100_000_000, remainingNs: 40_000_000, dueAt: null, pending: 2,
	});
	expect(files[4]!.timerfd).toMatchObject({ absolute: true, remainingNs: null, dueAt: "2023-11-14T22:13:20.000Z", pending: 0 });
});

test("the reader refuses what the stub's record checks refuse", () => {
	const bad: [number, string, number | bigint][] = [
		[0, "kind_flags", 2], // an eventfd flag other than EFD_SEMAPHORE
		[0, "count", 0xffffffffffffffffn], // a counter no write can set
		[3, "clock", 8], // CLOCK_REALTIME_ALARM
		[3, "kind_flags", 2], // TFD_TIMER_CANCEL_ON_SET
		[3, "interval_nsec", 1_000_000_000],
		[3, "remaining_sec", -1n],
		[2, "content_len", 1n], // stored bytes on a kind that keeps none
	];
	for (const [i, field, v] of bad) {
		const img = image();
		poke(img, FD, recordOffset(img, "fds", i), field, v);
		const p = join(dir, "bad.dat");
		writeFileSync(p, img);
		expect({ field, refused: (() => { try { readImage(p); return false; } catch { return true; } })() }).toEqual({ field, refused: true });
	}
});
