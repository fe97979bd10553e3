/**
 * `ckpt restart [IMAGE] [--image PATH]`: become the restore stub (same
 * pid), which moves into a new pid namespace so the program gets its old
 * pid back (c/stub/pid_namespace.c; `--new-pid`: a new pid), checks that
 * IMAGE can be restored here and rebuilds the process from it. Every check is the stub's (c/stub/validate.c and
 * preconditions.c): it runs them before it tears anything down, so this
 * command reads nothing of the image and a refusal still leaves nothing
 * half done; its one-line message and exit status (CKPT_EXIT_RESTART_REFUSED)
 * are the command's.
 */
import type { CAC } from "cac";
import type { Split } from "../cli/argv.ts";
import { addOptions, type OptionSpec, type PlainCommand } from "../cli/options.ts";
import { extractAsset, STUB_NAME } from "../process/assets.ts";
import { execStub } from "../process/exec.ts";
import { imagePath } from "../protocol/image-name.ts";
import { resolvePath } from "../process/paths.ts";
import {
	CKPT_ENV_COMPRESS, CKPT_ENV_FLAG_ON, CKPT_ENV_LAZY, CKPT_LAZY_TEST_UNAVAILABLE, CKPT_ENV_NAMESPACE, CKPT_NAMESPACE_OFF, CKPT_STUB_ARG_IMAGE, CKPT_STUB_ARG_NEXT_IMAGE,
	CKPT_STUB_ARG_NOTE, CKPT_ENV_IGNORE_AFFINITY,
} from "../protocol/protocol.ts";
import { type PeriodicSettings, periodicSettings } from "../cli/periodic.ts";
import { startWatcher } from "../process/watcher.ts";
import { checkCompressAvailable } from "../cli/compress.ts";

/** What --lazy means, for restart and run-or-restart alike. */
export const LAZY_HELP =
	"Run the program at once and load its memory on first touch and in the background (needs a userfaultfd that serves the kernel's faults; otherwise says so and restarts eagerly)";

/** What --ignore-affinity means, for restart and run-or-restart alike. */
export const IGNORE_AFFINITY_HELP =
	"Run every thread on the CPUs this restart is given instead of the CPUs each was bound to (without it: each thread's saved affinity, or a refusal when this restart may not use one of its CPUs)";

/** What --new-pid means, for restart and run-or-restart alike. */
export const NEW_PID_HELP =
	"Restore in this process, outside any new pid namespace: the program gets the pid the shell sees and its threads new tids (without it: their old ones, in a pid namespace, behind a supervisor)";

/** restart's options, for cac and for the line read without it (cli/options.ts). */
const OPTIONS: readonly OptionSpec[] = [
	{ raw: "--image <path>", help: "Where later checkpoints go (default: IMAGE itself)" },
	{ raw: "--interval <duration>", help: "Also checkpoint every DURATION (500ms, 90s, 10m, 1h) in the background; not kept from the first run" },
	{ raw: "--keep <n>", help: "With --interval: keep the newest N checkpoints, the image and IMAGE.1 ... IMAGE.(N-1) (default: 1)" },
	{ raw: "--compress", help: "Compress the memory in later images (LZ4); without it, the first run's choice holds" },
	{ raw: "--new-pid", help: NEW_PID_HELP },
	{ raw: "--lazy", help: LAZY_HELP },
	{ raw: "--ignore-affinity", help: IGNORE_AFFINITY_HELP },
];

/** The flags restart takes, as cac and plainFlags name them (run-or-restart's too). */
export interface RestartFlags {
	compress?: boolean;
	newPid?: boolean;
	lazy?: boolean;
	ignoreAffinity?: boolean;
}

export function define(cli: CAC, split: Split): void {
	addOptions(cli.command("restart [image]", "Resume a checkpointed program from IMAGE (default: $CKPT_IMAGE or ./myckpt.dat)"), OPTIONS)
		.example("  $ ckpt restart                      # resume ./myckpt.dat")
		.example("  $ ckpt restart run1.dat --image run2.dat")
		.example("  $ ckpt restart --interval 10m       # resume, and checkpoint every 10 minutes again")
		.action((image: string | undefined, flags: RestartFlags) => restartAsTyped(split, image, flags));
}

export const plain: PlainCommand = {
	options: OPTIONS,
	maxPositionals: 1,
	run: (split, args) => restartAsTyped(split, args.positionals[0], args.flags),
};

function restartAsTyped(split: Split, image: string | undefined, flags: RestartFlags): Promise<never> {
	return restart(image, { nextImage: split.values.image, periodic: periodicSettings(split.values), ...flagOptions(flags) });
}

/** The restart options `flags` set, each exactly true or false. */
export function flagOptions(flags: RestartFlags): Pick<RestartOptions, "compress" | "newPid" | "lazy" | "ignoreAffinity"> {
	return {
		compress: flags.compress === true,
		newPid: flags.newPid === true,
		lazy: flags.lazy === true,
		ignoreAffinity: flags.ignoreAffinity === true,
	};
}

export interface RestartOptions {
	/** Where later checkpoints go (default: the image restored). */
	nextImage?: string;
	/** Added in parentheses to the stub's refusal, if it refuses. */
	refusalNote?: string;
	/** --interval and --keep: periodic checkpoints of the restored program. */
	periodic?: PeriodicSettings;
	/** --compress: later checkpoints compressed (the stub hands it to libckpt). */
	compress?: boolean;
	/** --new-pid: restore in this process, with a new pid, no namespace. */
	newPid?: boolean;
	/** --lazy: the program runs at once, its memory loaded on first touch (docs/lazy-restart.md). */
	lazy?: boolean;
	/** --ignore-affinity: every thread on this restart's CPUs, not the saved ones (c/stub/affinity.c). */
	ignoreAffinity?: boolean;
}

/** Restore image `name` (default: $CKPT_IMAGE, else ./myckpt.dat) in place of this process. */
export async function restart(name: string | undefined, opts: RestartOptions = {}): Promise<never> {
	checkCompressAvailable(opts.compress === true);
	const image = imagePath(name, process.env, process.cwd());
	const next = opts.nextImage ? resolvePath(process.cwd(), opts.nextImage) : image;
	const stub = await extractAsset(STUB_NAME);
	const argv = [stub];
	argv[CKPT_STUB_ARG_IMAGE] = image;
	argv[CKPT_STUB_ARG_NEXT_IMAGE] = next;
	if (opts.refusalNote) argv[CKPT_STUB_ARG_NOTE] = opts.refusalNote;
	// The trigger is the first run's, which only the restored environment block says (signal 0).
	if (opts.periodic) await startWatcher(opts.periodic, 0);
	const env = { ...process.env };
	// Set or removed, never inherited from an outer ckpt's environment.
	if (opts.compress) env[CKPT_ENV_COMPRESS] = CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_COMPRESS];
	if (opts.newPid) env[CKPT_ENV_NAMESPACE] = CKPT_NAMESPACE_OFF;
	// Set or removed like --compress; a test's CKPT_LAZY=test-unavailable is kept.
	if (opts.lazy) env[CKPT_ENV_LAZY] = env[CKPT_ENV_LAZY] === CKPT_LAZY_TEST_UNAVAILABLE ? CKPT_LAZY_TEST_UNAVAILABLE : CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_LAZY];
	if (opts.ignoreAffinity) env[CKPT_ENV_IGNORE_AFFINITY] = CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_IGNORE_AFFINITY];
	return execStub(stub, argv, env);
}
