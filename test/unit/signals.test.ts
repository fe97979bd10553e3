import { expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { parseSignal } from "../../src/signals.ts";

test("names, with or without SIG, any case", () => {
	expect(parseSignal("USR1")).toBe(10);
	expect(parseSignal("SIGUSR2")).toBe(12);
	expect(parseSignal("sigusr1")).toBe(10);
	expect(parseSignal("TERM")).toBe(15);
});

test("numbers and real-time signals", () => {
	expect(parseSignal("12")).toBe(12);
	expect(parseSignal("RTMIN")).toBe(34);
	expect(parseSignal("SIGRTMIN+2")).toBe(36);
	expect(parseSignal("RTMAX-1")).toBe(63);
});

test("unknown or unusable signals are usage errors", () => {
	for (const bad of ["FOO", "0", "65", "KILL", "SIGSTOP", "9", "SEGV", "32", "", "1.5"])
		expect(() => parseSignal(bad)).toThrow(UsageError);
});
