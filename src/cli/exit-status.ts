/**
 * The exit statuses ckpt documents, for `--help` (README.md has the same
 * table). Each command's help lists what that command can end with.
 */
import { EXIT_CANCELLED } from "./errors.ts";
import { CKPT_EXIT_CHECKPOINTED, CKPT_EXIT_RESTART_REFUSED } from "../protocol/protocol.ts";

const STOPPED = [CKPT_EXIT_CHECKPOINTED, "the program was checkpointed and stopped (it was not launched with --continue)"] as const;
const USAGE = [2, "usage error"] as const;

const BY_COMMAND: Record<string, (readonly [number | string, string])[]> = {
	"": [
		[0, "success"],
		["N", "run, restart: the program's own exit status, whatever it is"],
		[1, "ckpt could not do what was asked; one line on stderr says why (a bad or unrestorable image,\n" +
			"a failed or timed-out checkpoint, a PID that does not exist, is not under ckpt or is another user's)"],
		[2, "usage error; also `ckpt` alone without a terminal, after printing this help"],
		STOPPED,
		[126, "PROGRAM cannot run under ckpt (not executable, a directory, static, setuid...)"],
		[127, "PROGRAM not found"],
		[EXIT_CANCELLED, "interactive mode cancelled (Ctrl-C or Escape at a prompt)"],
	],
	run: [
		["N", "the program's own exit status: it ran to its end"],
		STOPPED,
		[1, "ckpt could not start it (exec failure, unusable cache directory)"],
		USAGE,
		[126, "PROGRAM cannot run under ckpt (not executable, a directory, static, setuid...)"],
		[127, "PROGRAM not found"],
	],
	restart: [
		["N", "the program's own exit status: it ran to its end"],
		STOPPED,
		[CKPT_EXIT_RESTART_REFUSED, "the image cannot be restored here; one line on stderr says why, and nothing ran"],
		USAGE,
	],
	"run-or-restart": [
		["N", "the program's own exit status: it ran to its end"],
		STOPPED,
		[1, "an image exists but cannot be restored here (it is never replaced by a fresh start), or ckpt could not start the program"],
		USAGE,
		[126, "PROGRAM cannot run under ckpt (not executable, a directory, static, setuid...)"],
		[127, "PROGRAM not found"],
	],
	checkpoint: [
		[0, "the image is complete; its path, size and the time it took are on stdout"],
		[1, "no checkpoint: no such process, not running under ckpt, another user's, the checkpoint\n" +
			"failed (the program continues) or did not finish in time; one line on stderr says which"],
		USAGE,
	],
	info: [
		[0, "the image was described (and, with --verify, a restart would accept it, all its data checked)"],
		[1, "the image cannot be read, or is corrupt or truncated (--verify: a restart would refuse it);\n" +
			"one line on stderr says why"],
		USAGE,
	],
	list: [
		[0, "listed, including unusable images and the case of none at all"],
		[1, "DIR cannot be read"],
		USAGE,
	],
};

/** The "Exit status" help section's body for `command` (undefined: the global help, every status). */
export function exitStatusHelp(command?: string): string {
	const rows = BY_COMMAND[command ?? ""] ?? BY_COMMAND[""]!;
	return rows.map(([code, text]) => `  ${String(code).padEnd(5)}${text.replaceAll("\n", "\n       ")}`).join("\n");
}
