import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REQUEST_CONTINUE_SIGVAL, REQUEST_SIGVAL } from "../../src/protocol/checkpoint-request.ts";
import { describeResult } from "../../src/cli/checkpoint-report.ts";
import { parsePid } from "../../src/commands/checkpoint.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { processChoices } from "../../src/interactive/choices.ts";
import { uptime } from "../../src/cli/text.ts";

test("the request values are the ones libckpt looks for", () => {
	const header = readFileSync(join(import.meta.dir, "../../c/ckpt_protocol.h"), "utf8");
	const value = (name: string) => Number(header.match(new RegExp(`^#define\\s+${name}\\s+(0x[0-9a-f]+)`, "m"))?.[1]);
	expect(REQUEST_SIGVAL).toBe(value("CKPT_REQUEST_SIGVAL"));
	expect(REQUEST_CONTINUE_SIGVAL).toBe(value("CKPT_REQUEST_CONTINUE_SIGVAL"));
});

test("pids", () => {
	expect(parsePid("4242")).toBe(4242);
	for (const bad of ["", "0", "-1", "12a", "1.5", "99999999", " 7"]) expect(() => parsePid(bad)).toThrow(UsageError);
});

test("the result line", () => {
	expect(describeResult({ pid: 42, image: "/x.dat", size: 2048, ms: 3.14, stopped: false }))
		.toBe("checkpoint of 42 written to /x.dat (2.0 KiB, 3.1 ms); it continues");
	expect(describeResult({ pid: 42, image: "/x.dat", size: null, ms: 1500, stopped: true }))
		.toBe("checkpoint of 42 written to /x.dat (size unknown, 1.50 s); it stopped with exit status 85");
	expect(describeResult({ pid: 42, image: "/a\nb.dat", size: 2048, ms: 3.14, stopped: false }))
		.toBe("checkpoint of 42 written to '/a\nb.dat' (2.0 KiB, 3.1 ms); it continues");
});

test("uptime and the interactive process list", () => {
	expect([5, 61, 3700, 90000].map(uptime)).toEqual(["5 s", "1 min", "1 h 1 min", "1 d 1 h"]);
	const status = { seq: 4, state: "written" as const, count: 2, image: "/a.dat", message: "" };
	const labels = processChoices([
		{ pid: 7, argv: ["/usr/bin/python3", "-u", "train.py"], uptime: 125, status, keepsRunning: true },
		{ pid: 12345, argv: ["./ticker"], uptime: 3, status: null, keepsRunning: false },
	]);
	expect(labels.map((c) => c.value)).toEqual([7, 12345]);
	expect(labels[0]!.label).toMatch(/^    7  python3 -u train\.py  up 2 min  2 checkpoints$/);
	expect(labels[1]!.label).toMatch(/^12345  ticker +up 3 s +starting$/);
});
