/**
 * ckpt's entry point: split the command line (argv.ts), let cac parse our
 * part, run the matched command, and turn any failure into one line on
 * stderr and an exit code. This is the only place exit codes are decided.
 */
import cac from "cac";
import pkg from "../package.json" with { type: "json" };
import { splitArgv } from "./argv.ts";
import { defineInfo } from "./commands/info.ts";
import { defineRestart } from "./commands/restart.ts";
import { defineRun } from "./commands/run.ts";
import { NotFoundError, RefusedError, UsageError } from "./errors.ts";
import { CKPT_EXIT_CHECKPOINTED } from "./format.ts";

const EXIT_CODES = `  0    success (for run: the program's own exit status passes through)
  1    runtime error: bad or unrestorable image, exec failure
  2    usage error: bad options or arguments
  ${CKPT_EXIT_CHECKPOINTED}   the program was checkpointed and stopped (without --continue)
  126  PROGRAM cannot run under ckpt (not executable, a directory, static, setuid...)
  127  PROGRAM not found`;

/** The single mapping from failure kind to exit status. */
function exitCodeFor(e: unknown): number {
	if (e instanceof UsageError) return 2;
	if (e instanceof NotFoundError) return 127;
	if (e instanceof RefusedError) return 126;
	return 1;
}

function buildCli(args: string[]) {
	const split = splitArgv(args);
	const cli = cac("ckpt");
	defineRun(cli, split);
	defineRestart(cli, split);
	defineInfo(cli);
	cli.usage("[run] [OPTIONS] PROGRAM [ARGS...]  |  restart [IMAGE]  |  info [IMAGE]");
	cli.help((sections) => [
		// cac leaves a space after each option's description.
		...sections.map((s) => ({ ...s, body: s.body.replace(/ +$/gm, "") })),
		{ title: "Exit status", body: EXIT_CODES },
	]);
	cli.version(pkg.version);
	cli.outputVersion = () => console.log(`ckpt ${pkg.version}`);
	return { cli, split };
}

async function main(args: string[]): Promise<number> {
	const { cli, split } = buildCli(args);
	if (split.command === "none") {
		// Interactive mode (stdin a TTY) will live here; until then, explain and fail.
		cli.parse(["ckpt", "ckpt", "--help"], { run: false });
		return 2;
	}
	// cac sees argv[0] and argv[1] as node and script; our part follows.
	const parsed = cli.parse(["ckpt", "ckpt", ...split.cacArgs], { run: false });
	if (parsed.options.help || (parsed.options.version && !cli.matchedCommandName)) return 0;
	const command = cli.matchedCommand;
	if (!command) throw new UsageError(`unknown command (see 'ckpt --help')`);
	try {
		// cac's own checks throw its (unexported) CACError; make them usage errors.
		command.checkUnknownOptions();
		command.checkOptionValue();
		command.checkRequiredArgs();
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
		console.error(`ckpt: ${oneLine(e)}`);
		process.exit(exitCodeFor(e));
	},
);
