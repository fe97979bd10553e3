/**
 * `ckpt checkpoint PID [--continue] [--timeout SECONDS]`: ask a running
 * ckpt-managed process for a checkpoint, wait until its image is complete,
 * and say where it is, how big, and how long it took.
 */
import type { CAC } from "cac";
import { DEFAULT_TIMEOUT_S, describeResult } from "../cli/checkpoint-report.ts";
import { UsageError } from "../cli/errors.ts";
import { CKPT_EXIT_CHECKPOINTED } from "../protocol/protocol.ts";

/** Linux's largest possible pid (PID_MAX_LIMIT on 64-bit). */
const PID_MAX = 4194304;

interface CheckpointOptions {
	continue?: boolean;
	timeout?: unknown;
}

export function define(cli: CAC): void {
	cli.command("checkpoint <pid>", "Checkpoint the running ckpt-managed process PID and wait until its image is complete")
		.option("--continue", "Keep it running after this checkpoint, even if it was launched without --continue")
		.option("--timeout <seconds>", `Give up waiting after this long (default: ${DEFAULT_TIMEOUT_S})`)
		.example("  $ ckpt ./simulation &")
		.example(`  $ ckpt checkpoint $!              # image written; the program stops with status ${CKPT_EXIT_CHECKPOINTED}`)
		.example("  $ ckpt checkpoint --continue 4242 # image written; the program keeps running")
		.action((pid: string, opts: CheckpointOptions) => checkpointCommand(String(pid), opts));
}

/** The pid argument, or a usage error. */
export function parsePid(text: string): number {
	if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > PID_MAX)
		throw new UsageError(`checkpoint: '${text}' is not a process id (see 'ckpt checkpoint --help')`);
	return Number(text);
}

function parseTimeout(value: unknown): number {
	if (value === undefined) return DEFAULT_TIMEOUT_S * 1000;
	const s = Number(value);
	if (value === true || !Number.isFinite(s) || s <= 0)
		throw new UsageError(`--timeout: '${String(value)}' is not a positive number of seconds`);
	return s * 1000;
}

async function checkpointCommand(pidText: string, opts: CheckpointOptions): Promise<void> {
	const pid = parsePid(pidText);
	const timeoutMs = parseTimeout(opts.timeout);
	const { requestCheckpoint } = await import("../protocol/checkpoint-request.ts"); // loaded only when used
	const warn = (line: string) => console.error(line);
	console.log(describeResult(await requestCheckpoint(pid, { keepRunning: opts.continue === true, timeoutMs, warn })));
}
