import { expect, test } from "bun:test";
import { UsageError } from "../../src/cli/errors.ts";
import { constants } from "node:os";
import { parseSignal, signalName } from "../../src/process/signals.ts";

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

test("the built-in signal table agrees with node:os on every name and number", () => {
	const named = Object.entries(constants.signals as Record<string, number>).filter(([name]) => name !== "SIGUNUSED");
	expect(named.length).toBeGreaterThan(30);
	for (const [name, n] of named) {
		if (n === 9 || n === 19 || n === 4 || n === 7 || n === 8 || n === 11) expect(() => parseSignal(name)).toThrow(UsageError);
		else expect(parseSignal(name)).toBe(n);
		expect(signalName(n)).toMatch(new RegExp(`^SIG[A-Z0-9]+ \\(${n}\\)$`));
	}
	expect(signalName(6)).toBe("SIGABRT (6)");
	expect(signalName(40)).toBe("40");
});
