import { expect, test } from "bun:test";
import { splitArgv } from "../../src/cli/argv.ts";

test("run-or-restart splits like run: options before PROGRAM are ckpt's, the rest the program's", () => {
	expect(splitArgv(["run-or-restart", "--image", "007", "--continue", "./sim", "--image", "x", "-v"])).toEqual({
		command: "run-or-restart",
		cacArgs: ["run-or-restart", "--image", "007", "--continue"],
		values: { image: "007" },
		program: "./sim",
		programArgs: ["--image", "x", "-v"],
	});
});

test("run-or-restart: options may also come first, and -- ends them", () => {
	expect(splitArgv(["--image", "a.dat", "run-or-restart", "--", "restart", "x"])).toEqual({
		command: "run-or-restart",
		cacArgs: ["--image", "a.dat", "run-or-restart"],
		values: { image: "a.dat" },
		program: "restart",
		programArgs: ["x"],
	});
});

test("run-or-restart without PROGRAM", () => {
	expect(splitArgv(["run-or-restart"])).toEqual({ command: "run-or-restart", cacArgs: ["run-or-restart"], values: {}, programArgs: [] });
});

test("a program called run-or-restart runs with `ckpt run`", () => {
	expect(splitArgv(["run", "run-or-restart", "a"])).toMatchObject({ command: "run", program: "run-or-restart", programArgs: ["a"] });
});
