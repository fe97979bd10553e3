import { expect, test } from "bun:test";
import { splitArgv } from "../../src/cli/argv.ts";

test("no arguments", () => {
	expect(splitArgv([]).command).toBe("none");
});

test("options after PROGRAM belong to the program", () => {
	expect(splitArgv(["python3", "-u", "x.py", "--image", "y"])).toEqual({
		command: "default", cacArgs: [], values: {}, program: "python3", programArgs: ["-u", "x.py", "--image", "y"],
	});
});

test("ckpt options before PROGRAM go to cac, values kept raw", () => {
	expect(splitArgv(["--continue", "--image", "007", "--signal=USR1", "./a.out", "--continue"])).toEqual({
		command: "default",
		cacArgs: ["--continue", "--image", "007", "--signal=USR1"],
		values: { image: "007", signal: "USR1" },
		program: "./a.out",
		programArgs: ["--continue"],
	});
});

test("a value that looks like a program is still the option's value", () => {
	expect(splitArgv(["--image", "prog", "real"]).program).toBe("real");
});

test("-- ends ckpt's options", () => {
	expect(splitArgv(["--", "-weird", "a"])).toMatchObject({ cacArgs: [], program: "-weird", programArgs: ["a"] });
	expect(splitArgv(["--continue", "--", "info"])).toMatchObject({ command: "default", program: "info" });
});

test("run, explicitly, also for programs named like commands", () => {
	expect(splitArgv(["run", "restart", "x"])).toMatchObject({ command: "run", cacArgs: ["run"], program: "restart", programArgs: ["x"] });
	expect(splitArgv(["--image", "a.dat", "run", "--continue", "prog", "-v"])).toEqual({
		command: "run",
		cacArgs: ["--image", "a.dat", "run", "--continue"],
		values: { image: "a.dat" },
		program: "prog",
		programArgs: ["-v"],
	});
});

test("run or options without a program", () => {
	expect(splitArgv(["run"])).toEqual({ command: "run", cacArgs: ["run"], values: {}, programArgs: [] });
	expect(splitArgv(["--help"])).toEqual({ command: "default", cacArgs: ["--help"], values: {}, programArgs: [] });
});

test("restart and info get every argument, with raw option values", () => {
	expect(splitArgv(["restart", "old.dat", "--image", "0x10"])).toEqual({
		command: "restart", cacArgs: ["restart", "old.dat", "--image", "0x10"], values: { image: "0x10" }, programArgs: [],
	});
	expect(splitArgv(["--image", "n.dat", "restart"])).toMatchObject({ command: "restart", values: { image: "n.dat" } });
	expect(splitArgv(["info", "--verify", "x.dat"])).toMatchObject({ command: "info", cacArgs: ["info", "--verify", "x.dat"] });
});

test("an unknown word is a program, not a command", () => {
	expect(splitArgv(["infos"])).toMatchObject({ command: "default", program: "infos" });
});

test("checkpoint and list are commands; a program named like them runs with `run`", () => {
	expect(splitArgv(["checkpoint", "--continue", "42"])).toEqual({
		command: "checkpoint", cacArgs: ["checkpoint", "--continue", "42"], values: {}, programArgs: [],
	});
	expect(splitArgv(["list", "/tmp"])).toMatchObject({ command: "list", cacArgs: ["list", "/tmp"] });
	expect(splitArgv(["run", "list", "-l"])).toMatchObject({ command: "run", program: "list", programArgs: ["-l"] });
	expect(splitArgv(["--", "checkpoint"])).toMatchObject({ command: "default", program: "checkpoint" });
});
