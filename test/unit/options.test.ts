/**
 * A command's option table read without cac (src/cli/options.ts) must read
 * a line exactly as cac does, or leave it to cac: each line here is parsed
 * both ways from the same table and the results compared.
 */
import { expect, test } from "bun:test";
import cac from "cac";
import { splitArgv } from "../../src/cli/argv.ts";
import { camelCase, flagsForCac, plainFlags, type PlainCommand } from "../../src/cli/options.ts";
import * as restart from "../../src/commands/restart.ts";
import * as run from "../../src/commands/run.ts";
import * as runOrRestart from "../../src/commands/run-or-restart.ts";

type Module = { define(cli: ReturnType<typeof cac>, split: ReturnType<typeof splitArgv>): void; plain: PlainCommand };

function both(module: Module, args: string[]) {
	const split = splitArgv(args);
	const plain = plainFlags(split, module.plain.options, module.plain.maxPositionals);
	const cli = cac("ckpt");
	module.define(cli, split);
	const parsed = cli.parse(["ckpt", "ckpt", ...flagsForCac(split.cacArgs, module.plain.options)], { run: false });
	return { plain, parsed, split };
}

/** Lines the table reads by itself: every flag as cac sets it, the positionals as typed. */
const PLAIN_LINES: [Module, string[]][] = [
	[restart, ["restart"]],
	[restart, ["restart", "--lazy"]],
	[restart, ["restart", "run1.dat", "--lazy", "--new-pid"]],
	[restart, ["--lazy", "restart", "--image", "next.dat", "--ignore-affinity", "a.dat"]],
	[restart, ["restart", "--image=next.dat", "--compress", "--interval", "10m", "--keep", "2"]],
	[run, ["./a.out", "-x", "--lazy"]],
	[run, ["--continue", "--drop-unsupported-fds", "./a.out"]],
	[run, ["run", "--signal", "USR1", "--compress", "info"]],
	[runOrRestart, ["run-or-restart", "--lazy", "--continue", "--image", "x.dat", "./sim", "--steps", "9"]],
];

test("a line of known options reads as cac reads it", () => {
	for (const [module, args] of PLAIN_LINES) {
		const { plain, parsed } = both(module, args);
		expect(plain, args.join(" ")).toBeDefined();
		for (const spec of module.plain.options) {
			if (spec.raw.includes("<")) continue; // values are read raw from split.values, by both paths
			const name = camelCase(spec.raw);
			expect(plain!.flags[name] === true, `${args.join(" ")}: ${spec.raw}`).toBe(parsed.options[name] === true);
		}
		expect(plain!.positionals).toEqual(parsed.args.map(String).filter((a) => a !== "run" || module !== run));
	}
});

test("anything more than known options is left to cac", () => {
	const lines: [Module, string[]][] = [
		[restart, ["restart", "--help"]],
		[restart, ["restart", "--lazzy"]],
		[restart, ["restart", "--lazy=yes"]],
		[restart, ["restart", "--no-lazy"]],
		[restart, ["restart", "a.dat", "b.dat"]],
		[restart, ["restart", "--image"]],
		[restart, ["restart", "--image", "--lazy"]],
		[restart, ["restart", "-h"]],
		[run, ["--version"]],
		[run, ["--continue", "-v", "./a.out"]],
		[runOrRestart, ["run-or-restart", "--keep"]],
	];
	for (const [module, args] of lines) expect(both(module, args).plain, args.join(" ")).toBeUndefined();
});

// cac's parser knows flags by their camelCase names: spelled as typed, --new-pid took the image as its value.
test("a flag with a dash in its name never takes the next argument as its value", () => {
	for (const args of [["restart", "--new-pid", "a.dat"], ["restart", "--ignore-affinity", "a.dat", "--lazzy"]]) {
		const { parsed } = both(restart, args);
		expect(parsed.args).toEqual(["a.dat"]);
		expect(parsed.options[camelCase(args[1]!)]).toBe(true);
	}
});

test("camelCase names a flag as cac does", () => {
	expect(camelCase("--drop-unsupported-fds")).toBe("dropUnsupportedFds");
	expect(camelCase("--lazy")).toBe("lazy");
});
