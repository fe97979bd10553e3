/**
 * ckpt's entry point: split the command line (argv.ts), let cac parse our
 * part, run the matched command, and turn any failure into one line on
 * stderr and an exit code. This is the only place exit codes are decided.
 * With no arguments at all, a terminal gets the interactive mode.
 */
import type { CAC } from "cac";
import pkg from "../package.json" with { type: "json" };
import { type Split, splitArgv } from "./cli/argv.ts";
import { flagsForCac, plainFlags, type PlainCommand } from "./cli/options.ts";
import { CancelledError, EXIT_CANCELLED, NotFoundError, RefusedError, ShownError, UsageError } from "./cli/errors.ts";

const USAGE_TEXT = `  $ ckpt [run] [OPTIONS] PROGRAM [ARGS...]   (ckpt's options go before PROGRAM, or end them with --)
  $ ckpt restart [IMAGE] [--image NEXT] [--interval DURATION [--keep N]]
  $ ckpt run-or-restart [OPTIONS] PROGRAM [ARGS...]   (restart if the image exists, else run: batch jobs)
  $ ckpt checkpoint PID [--continue]
  $ ckpt info [IMAGE] [--json] [--verify]
  $ ckpt list [DIR]
  $ ckpt                                     (on a terminal: choose from a menu)`;

const INTERACTIVE = `  On a terminal, \`ckpt\` with no arguments opens a menu: run a program, checkpoint a running
  one, restart from an image or inspect one, each picked from a list. Without a terminal it
  prints this help and exits with status 2.`;

/** The single mapping from failure kind to exit status. */
function exitCodeFor(e: unknown): number {
	if (e instanceof ShownError) return exitCodeFor(e.cause);
	if (e instanceof CancelledError) return EXIT_CANCELLED;
	if (e instanceof UsageError) return 2;
	if (e instanceof NotFoundError) return 127;
	if (e instanceof RefusedError) return 126;
	return 1;
}

type CommandModule = {
	define(cli: CAC, split: Split): void;
	/** A command whose options are one table (cli/options.ts): run without cac when the line holds only those. */
	plain?: PlainCommand;
};

/**
 * Each command's module, in the order the global help lists them. They are
 * loaded on demand: a start that runs one command does not evaluate the
 * others' modules (the image reader, the checkpoint client...), which
 * every `ckpt PROGRAM` would otherwise wait for.
 */
const COMMANDS: [Split["command"][], () => Promise<CommandModule>][] = [
	[["default", "run"], () => import("./commands/run.ts")],
	[["restart"], () => import("./commands/restart.ts")],
	[["run-or-restart"], () => import("./commands/run-or-restart.ts")],
	[["checkpoint"], () => import("./commands/checkpoint.ts")],
	[["info"], () => import("./commands/info.ts")],
	[["list"], () => import("./commands/list.ts")],
];

/** Help and version output describe every command; anything else needs only its own. */
function needsAllCommands(split: Split): boolean {
	return split.command === "none" || split.cacArgs.some((a) => /^(-h|--help|-v|--version)$/.test(a));
}

/**
 * The command to run without cac, when the line is only the command's own
 * options (cli/options.ts): `ckpt PROGRAM [ARGS...]`, `ckpt restart --lazy`
 * as typed most often. Loading and building cac is 4-6 ms of every start.
 */
async function withoutCac(split: Split): Promise<(() => unknown) | undefined> {
	if (split.command === "none") return undefined;
	const load = COMMANDS.find(([names]) => names.includes(split.command))?.[1];
	const plain = load && (await load()).plain;
	const args = plain && plainFlags(split, plain.options, plain.maxPositionals);
	return args && (() => plain.run(split, args));
}

async function buildCli(split: Split) {
	const { default: cac } = await import("cac");
	const cli = cac("ckpt");
	const all = needsAllCommands(split);
	const wanted = COMMANDS.filter(([names]) => all || names.includes(split.command));
	const modules = await Promise.all(wanted.map(([, load]) => load()));
	for (const module of modules) module.define(cli, split);
	// Only help shows it; loading it pulls in the image format's tables.
	const { exitStatusHelp } = all ? await import("./cli/exit-status.ts") : { exitStatusHelp: () => "" };
	cli.help((sections) => {
		// Set before help is printed: the command asked about, none for the global help.
		const command = cli.matchedCommandName;
		const out = sections.map((s, i) => ({
			...s,
			// cac leaves a space after each option's description.
			body: (s.title === "Usage" && command === undefined ? USAGE_TEXT : i === 0 && !s.title ? `ckpt ${pkg.version}` : s.body).replace(/ +$/gm, ""),
		}));
		if (command === undefined) out.push({ title: "Interactive mode", body: INTERACTIVE });
		out.push({ title: "Exit status", body: exitStatusHelp(command) });
		return out;
	});
	cli.version(pkg.version);
	cli.outputVersion = () => console.log(`ckpt ${pkg.version}`);
	// The typed command's table: its flags are the ones to spell for cac (cli/options.ts).
	const typed = modules.filter((_, i) => wanted[i]![0].includes(split.command));
	return { cli, tables: typed.flatMap((m) => m.plain?.options ?? []) };
}

async function main(args: string[]): Promise<number> {
	const split = splitArgv(args);
	const plain = await withoutCac(split);
	if (plain) {
		await plain();
		return 0;
	}
	const { cli, tables } = await buildCli(split);
	if (split.command === "none") {
		// node:tty alone costs ~3 ms of start-up: load it only on this path.
		const { isatty } = await import("node:tty");
		if (isatty(0) && isatty(1)) {
			// Before any prompt opens the terminal: only what the caller passed goes to a program run from the menu.
			(await import("./process/exec.ts")).rememberInheritedFds();
			// Loaded only here: @clack/prompts costs startup time every other command would pay.
			const { interactive } = await import("./interactive/index.ts");
			await interactive();
			return 0;
		}
		// Never prompt where nobody can answer: explain and fail.
		cli.parse(["ckpt", "ckpt", "--help"], { run: false });
		return 2;
	}
	// cac sees argv[0] and argv[1] as node and script; our part follows.
	const parsed = cli.parse(["ckpt", "ckpt", ...flagsForCac(split.cacArgs, tables)], { run: false });
	if (parsed.options.help || (parsed.options.version && !cli.matchedCommandName)) return 0;
	const command = cli.matchedCommand;
	// cac leaves what follows `--` out of the positionals: `ckpt info -- -odd.dat` names an image all the same.
	cli.args = [...parsed.args, ...((parsed.options["--"] as string[] | undefined) ?? [])];
	if (!command) throw new UsageError(`unknown command (see 'ckpt --help')`);
	try {
		// cac's own checks throw its (unexported) CACError; make them usage errors.
		command.checkUnknownOptions();
		command.checkOptionValue();
		command.checkRequiredArgs();
		const takes = command.args.some((a) => a.variadic) ? Infinity : command.args.length;
		if (cli.args.length > takes) throw new Error(`unexpected argument '${cli.args[takes]}'`);
	} catch (e) {
		throw new UsageError(`${(e as Error).message} (see 'ckpt ${command.name ? `${command.name} ` : ""}--help')`);
	}
	await cli.runMatchedCommand();
	return 0;
}

function oneLine(e: unknown): string {
	const text = e instanceof Error ? e.message : String(e);
	return text.replace(/\s*\n\s*/g, " ").trim();
}

main(process.argv.slice(2)).then(
	(code) => process.exit(code),
	(e) => {
		// The interactive mode has already said it on screen.
		if (!(e instanceof ShownError || e instanceof CancelledError)) console.error(`ckpt: ${oneLine(e)}`);
		process.exit(exitCodeFor(e));
	},
);
