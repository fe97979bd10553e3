/**
 * A command's options as one table, read two ways: `addOptions` gives them
 * to cac (parsing, help, its checks), and `plainFlags` reads a command line
 * made only of those options without cac. Loading cac and building its
 * commands is 4-6 ms of every start (it pulls in node:events), which
 * `ckpt restart --lazy` pays before the program's first output; a command
 * line that is anything more than known options (help, a negation, a
 * missing value, a typo, one positional too many) goes to cac as before.
 */
import type { Command } from "cac";
import type { Split } from "./argv.ts";

export interface OptionSpec {
	/** As cac takes it: "--lazy" for a flag, "--image <path>" for one with a value. */
	raw: string;
	help: string;
}

/** What `plainFlags` read: the flags given, by cac's camelCase name, and the positionals. */
export interface PlainArgs {
	flags: Record<string, true>;
	positionals: string[];
}

/** What a command module offers cli.ts to run without cac. */
export interface PlainCommand {
	options: readonly OptionSpec[];
	/** How many positionals the command takes (PROGRAM and its arguments are not among cac's). */
	maxPositionals: number;
	run(split: Split, args: PlainArgs): unknown;
}

export function addOptions(command: Command, specs: readonly OptionSpec[]): Command {
	for (const s of specs) command.option(s.raw, s.help);
	return command;
}

/**
 * `args` as cac must get them: each flag of `specs` with a dash in its
 * name, `--new-pid`, spelled `--newPid`. cac tells its parser (mri) which
 * options are flags by their camelCase names only, so `--new-pid a.dat`
 * would read as new-pid = "a.dat": `ckpt restart --new-pid a.dat` silently
 * restarted ./myckpt.dat, with no --new-pid. cac takes both spellings of a
 * name as the same option.
 *
 * @example flagsForCac(["restart", "--new-pid", "a.dat"], [{ raw: "--new-pid", help: "" }]) // ["restart", "--newPid", "a.dat"]
 */
export function flagsForCac(args: readonly string[], specs: readonly OptionSpec[]): string[] {
	return args.map((a) => (specs.some((s) => s.raw === a && a.includes("-", 2)) ? `--${camelCase(a)}` : a));
}

/** @example camelCase("--drop-unsupported-fds") // "dropUnsupportedFds" */
export function camelCase(option: string): string {
	return option.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * `split.cacArgs` read as cac would, when each argument is the command's
 * own word, an exact flag of `specs`, an option of `specs` that takes a
 * value together with that value (split.values holds it), or one of at most
 * `maxPositionals` positionals; undefined for anything else.
 *
 * @example plainFlags({ command: "restart", cacArgs: ["restart", "--lazy", "a.dat"], ... }, [{ raw: "--lazy", help: "" }], 1)
 * // { flags: { lazy: true }, positionals: ["a.dat"] }
 */
export function plainFlags(split: Split, specs: readonly OptionSpec[], maxPositionals: number): PlainArgs | undefined {
	const flags: Record<string, true> = {};
	const positionals: string[] = [];
	let sawCommand = split.command === "default";
	for (let k = 0; k < split.cacArgs.length; k++) {
		const a = split.cacArgs[k]!;
		if (!a.startsWith("-")) {
			if (!sawCommand && a === split.command) sawCommand = true;
			else if (positionals.push(a) > maxPositionals) return undefined;
			continue;
		}
		const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), true] : [a, false];
		const spec = specs.find((s) => s.raw === name || s.raw.startsWith(`${name} <`));
		if (!spec) return undefined;
		if (spec.raw === name) {
			if (inline) return undefined; // --lazy=yes: cac's reading, not ours
			flags[camelCase(name)] = true;
		} else if (!inline) {
			const value = split.cacArgs[++k];
			// Missing, or one cac may read as an option: its reading (and its error), not ours.
			if (value === undefined || value.startsWith("-")) return undefined;
		}
	}
	return sawCommand ? { flags, positionals } : undefined;
}
