// --interval and --keep as typed (src/cli/periodic.ts), and where they end
// on the command line (argv.ts: both take a value, so PROGRAM comes after it).
import { expect, test } from "bun:test";
import { splitArgv } from "../../src/cli/argv.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { DEFAULT_KEEP, MIN_INTERVAL_MS, parseInterval, parseKeep, periodicSettings } from "../../src/cli/periodic.ts";
import { CKPT_KEEP_MAX } from "../../src/protocol/protocol.ts";

test("durations in ms, s, m and h, whole or decimal", () => {
	expect(parseInterval("500ms")).toBe(500);
	expect(parseInterval("90s")).toBe(90_000);
	expect(parseInterval("10m")).toBe(600_000);
	expect(parseInterval("1h")).toBe(3_600_000);
	expect(parseInterval("1.5s")).toBe(1500);
	expect(parseInterval(`${MIN_INTERVAL_MS}ms`)).toBe(MIN_INTERVAL_MS);
});

test("a duration without a unit, with another unit, negative, blank or too short is a usage error naming it", () => {
	for (const bad of ["90", "5x", "-1s", "1 s", "", "s", "1e3ms", "1sec", "0s", `${MIN_INTERVAL_MS - 1}ms`, "0.05s"]) {
		expect(() => parseInterval(bad)).toThrow(UsageError);
		expect(() => parseInterval(bad)).toThrow(`--interval '${bad}'`);
	}
});

test("--keep is a whole number from 1 to the most libckpt keeps", () => {
	expect(parseKeep("1")).toBe(1);
	expect(parseKeep(String(CKPT_KEEP_MAX))).toBe(CKPT_KEEP_MAX);
	for (const bad of ["0", String(CKPT_KEEP_MAX + 1), "-2", "2.5", "two", ""]) expect(() => parseKeep(bad)).toThrow(UsageError);
});

test("settings: none without --interval, the default keep without --keep, --keep alone refused", () => {
	expect(periodicSettings({})).toBeUndefined();
	expect(periodicSettings({ interval: "2m" })).toEqual({ periodMs: 120_000, keep: DEFAULT_KEEP });
	expect(periodicSettings({ interval: "2m", keep: "3" })).toEqual({ periodMs: 120_000, keep: 3 });
	expect(() => periodicSettings({ keep: "3" })).toThrow("--keep needs --interval");
});

test("--interval and --keep take their values before PROGRAM, on run, run-or-restart and restart", () => {
	expect(splitArgv(["--interval", "10m", "--keep", "2", "./sim", "--keep", "9"])).toMatchObject({
		command: "default", values: { interval: "10m", keep: "2" }, program: "./sim", programArgs: ["--keep", "9"],
	});
	expect(splitArgv(["run-or-restart", "--interval=1h", "--keep", "3", "prog"])).toMatchObject({
		command: "run-or-restart", values: { interval: "1h", keep: "3" }, program: "prog",
	});
	expect(splitArgv(["restart", "a.dat", "--interval", "90s"])).toMatchObject({ command: "restart", values: { interval: "90s" } });
});
