/**
 * `ckpt run-or-restart [OPTIONS] PROGRAM [ARGS...]`: restart from the image
 * if there is one, else run PROGRAM afresh. One line in a batch job script
 * then covers the first run and every requeue (README.md, "Batch jobs").
 *
 * The image's existence alone decides: an image that is there but cannot
 * be restored fails with exit 1, never a fresh start, which would silently
 * throw the checkpointed work away and print the output again.
 */
import type { CAC } from "cac";
import type { Split } from "../cli/argv.ts";
import { addOptions, type OptionSpec, type PlainCommand } from "../cli/options.ts";
import { UsageError } from "../cli/errors.ts";
import { imagePath } from "../protocol/image-name.ts";
import { statPath } from "../process/file-calls.ts";
import { parseSignal } from "../process/signals.ts";
import { periodicSettings } from "../cli/periodic.ts";
import { flagOptions, IGNORE_AFFINITY_HELP, LAZY_HELP, NEW_PID_HELP, restart, type RestartFlags } from "./restart.ts";
import { run, type RunOptions } from "./run.ts";
import { CKPT_EXIT_CHECKPOINTED } from "../protocol/protocol.ts";

/** run-or-restart's options, for cac and for the line read without it (cli/options.ts). */
const OPTIONS: readonly OptionSpec[] = [
	{ raw: "--image <path>", help: "The image to restart from if it exists, and where checkpoints go (default: $CKPT_IMAGE or ./myckpt.dat)" },
	{ raw: "--continue", help: "Fresh start only: keep running after each checkpoint (a restart keeps the first run's settings)" },
	{ raw: "--signal <sig>", help: "Fresh start only: the checkpoint signal (default: USR2)" },
	{ raw: "--drop-unsupported-fds", help: "Fresh start only: drop, with a warning, open files that cannot be restored" },
	{ raw: "--interval <duration>", help: "Both: also checkpoint every DURATION (500ms, 90s, 10m, 1h) in the background" },
	{ raw: "--compress", help: "Both: compress the memory in the images written from now on (LZ4)" },
	{ raw: "--keep <n>", help: "Both, with --interval: keep the newest N checkpoints, the image and IMAGE.1 ... IMAGE.(N-1) (default: 1)" },
	{ raw: "--new-pid", help: `Restart only: ${NEW_PID_HELP}` },
	{ raw: "--lazy", help: `Restart only: ${LAZY_HELP}` },
	{ raw: "--ignore-affinity", help: `Restart only: ${IGNORE_AFFINITY_HELP}` },
];

type RunOrRestartOptions = RunOptions & RestartFlags;

export function define(cli: CAC, split: Split): void {
	addOptions(cli.command("run-or-restart [...program]", "Restart from the image if it exists, else run PROGRAM with checkpointing (for batch jobs that are requeued)")
		.usage("run-or-restart [OPTIONS] PROGRAM [ARGS...]   (options go before PROGRAM)"), OPTIONS)
		.example("  $ ckpt run-or-restart --image ckpt-$SLURM_JOB_ID.dat ./simulation --steps 1000")
		.example(`  # first run: starts ./simulation; after a checkpoint (exit ${CKPT_EXIT_CHECKPOINTED}) and a requeue: resumes it`)
		.example("  $ ckpt run-or-restart --interval 10m ./simulation   # a node failure loses at most about 10 minutes")
		.action((_: unknown, opts: RunOrRestartOptions) => runOrRestart(split, opts));
}

/** PROGRAM and its arguments are split off before options are read (argv.ts): no positionals. */
export const plain: PlainCommand = { options: OPTIONS, maxPositionals: 0, run: (split, args) => runOrRestart(split, args.flags) };

export function runOrRestart(split: Split, opts: RunOrRestartOptions): Promise<never> {
	// PROGRAM is required even when restarting, so the job line is the same every time.
	if (split.program === undefined) throw new UsageError("missing PROGRAM to run (see 'ckpt run-or-restart --help')");
	// A typo in --signal must fail on the first run, not only once restarts are over.
	if (split.values.signal !== undefined) parseSignal(split.values.signal);
	// Unlike those, periodic checkpoints are asked for again at every start: the watcher is not in the image.
	const periodic = periodicSettings(split.values);
	const image = imagePath(split.values.image, process.env, process.cwd());
	// lstat: a dangling symlink is an image that cannot be read, not a missing one.
	if (!statPath(image, false)) return run(split, opts);
	return restart(image, {
		refusalNote: `not starting ${split.program} afresh over an existing image: remove ${image} to start over`,
		periodic,
		...flagOptions(opts),
	});
}
