/**
 * `ckpt [run] [OPTIONS] PROGRAM [ARGS...]`: become PROGRAM (same pid, via
 * execve) with libckpt preloaded, so a signal to that pid checkpoints it.
 */
import type { CAC } from "cac";
import { nearestCommand, type Split } from "../cli/argv.ts";
import { addOptions, type OptionSpec, type PlainCommand } from "../cli/options.ts";
import { extractLibFor } from "../process/assets.ts";
import { NotFoundError, RefusedError, UsageError } from "../cli/errors.ts";
import { execInPlace } from "../process/exec.ts";
import { isDirectory, statPath } from "../process/file-calls.ts";
import { imagePath } from "../protocol/image-name.ts";
import { launchEnv } from "../protocol/launch-env.ts";
import { parentDir } from "../process/paths.ts";
import { checkProgram, resolveProgram } from "../process/program.ts";
import { DEFAULT_SIGNAL, parseSignal } from "../process/signals.ts";
import { CKPT_EXIT_CHECKPOINTED } from "../protocol/protocol.ts";
import { periodicSettings } from "../cli/periodic.ts";
import { startWatcher } from "../process/watcher.ts";
import { checkCompressAvailable } from "../cli/compress.ts";

export interface RunOptions {
	continue?: boolean;
	dropUnsupportedFds?: boolean;
	compress?: boolean;
}

/** run's options, for cac and for the line read without it (cli/options.ts). */
const OPTIONS: readonly OptionSpec[] = [
	{ raw: "--image <path>", help: "Where checkpoints are written (default: $CKPT_IMAGE or ./myckpt.dat)" },
	{ raw: "--continue", help: `Keep running after each checkpoint (default: exit with status ${CKPT_EXIT_CHECKPOINTED})` },
	{ raw: "--signal <sig>", help: "Signal that triggers a checkpoint, by name or number (default: USR2)" },
	{ raw: "--drop-unsupported-fds", help: "Drop, with a warning, open files that cannot be restored instead of failing the checkpoint" },
	{ raw: "--interval <duration>", help: "Also checkpoint every DURATION (500ms, 90s, 10m, 1h) in the background; the program never stops for it" },
	{ raw: "--compress", help: "Compress the memory in images (LZ4, on every core): smaller images for slow or shared file systems" },
	{ raw: "--keep <n>", help: "With --interval: keep the newest N checkpoints, the image and IMAGE.1 ... IMAGE.(N-1) (default: 1)" },
];

/** Register `run` and the default command (the same thing without the word `run`). */
export function define(cli: CAC, split: Split): void {
	const action = (_: unknown, opts: RunOptions) => run(split, opts);
	for (const name of ["[...program]", "run [...program]"]) {
		addOptions(cli.command(name, name === "run [...program]"
			? "Same, for a PROGRAM named like a command (ckpt run info)"
			: "Run PROGRAM with checkpointing enabled (the default command)")
			.usage("[run] [OPTIONS] PROGRAM [ARGS...]   (options go before PROGRAM)"), OPTIONS)
			.example("  $ ckpt ./simulation --steps 1000 &")
			.example(`  $ kill -USR2 $!        # checkpoint; the program exits with status ${CKPT_EXIT_CHECKPOINTED}`)
			.example("  $ ckpt restart         # resume from ./myckpt.dat")
			.example("  $ ckpt --interval 10m --keep 2 ./simulation   # a checkpoint every 10 minutes, the last two kept")
			.action(action);
	}
}

/** PROGRAM and its arguments are split off before options are read (argv.ts): no positionals. */
export const plain: PlainCommand = { options: OPTIONS, maxPositionals: 0, run: (split, args) => run(split, args.flags) };

/**
 * The program's file; for `ckpt restrat`, when no such program exists, the
 * error also names the command that was probably meant.
 */
function resolveOrSuggest(split: Split, path: string | undefined, cwd: string): string {
	try {
		return resolveProgram(split.program!, path, cwd);
	} catch (e) {
		const meant = split.command === "default" && e instanceof NotFoundError ? nearestCommand(split.program!) : undefined;
		if (meant) throw new NotFoundError(`${(e as Error).message}; did you mean \`ckpt ${meant}\`?`);
		throw e;
	}
}

/** Become `split.program` with checkpointing enabled; also the interactive mode's way to run. */
export async function run(split: Split, opts: RunOptions): Promise<never> {
	if (split.program === undefined) throw new UsageError("missing PROGRAM to run (see 'ckpt --help')");
	const cwd = process.cwd();
	const env = process.env;
	const signal = split.values.signal === undefined ? DEFAULT_SIGNAL : parseSignal(split.values.signal);
	const periodic = periodicSettings(split.values);
	checkCompressAvailable(opts.compress === true);
	const image = imagePath(split.values.image, env, cwd);
	const dir = parentDir(image);
	const dirStat = statPath(dir);
	if (!dirStat || !isDirectory(dirStat))
		throw new UsageError(`image directory ${dir} does not exist`);

	const file = resolveOrSuggest(split, env.PATH, cwd);
	const libc = checkProgram(file, split.program, env.PATH, cwd);
	const lib = await extractLibFor(libc);
	if (!lib)
		throw new RefusedError(`${split.program}: linked with musl, and this ckpt was built without musl support (build it where musl-gcc is installed: package musl-tools)`);
	const programEnv = launchEnv(env, {
		lib,
		image,
		signal,
		pid: process.pid,
		keepRunning: opts.continue === true,
		dropUnsupportedFds: opts.dropUnsupportedFds === true,
		compress: opts.compress === true,
	});
	// Last, once nothing can refuse: its first request comes one period from now.
	if (periodic) await startWatcher(periodic, signal);
	return execInPlace(file, [split.program, ...split.programArgs], programEnv, signal);
}
