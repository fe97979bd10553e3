/**
 * `ckpt` alone on a terminal: a menu of what ckpt can do, each action then
 * taking the same code path as its command. Any prompt can be cancelled
 * (Ctrl-C, Escape): "Cancelled", exit 130. A failure is shown in the
 * session's frame and still gets its command's exit status from cli.ts.
 */
import { cancel, intro, select } from "@clack/prompts";
import { CancelledError, ShownError } from "../cli/errors.ts";
import { checkpointAction } from "./checkpoint.ts";
import { answer, type PromptIO } from "./io.ts";
import { inspectAction, restartAction } from "./restart.ts";
import { runAction } from "./run.ts";

export type { PromptIO } from "./io.ts";

const ACTIONS = {
	run: { label: "Run a program with checkpointing", action: runAction },
	checkpoint: { label: "Checkpoint a running program", action: checkpointAction },
	restart: { label: "Restart from an image", action: restartAction },
	inspect: { label: "Inspect an image", action: inspectAction },
} as const;

/**
 * The whole session. Resolves when done; run and restart never return
 * (this process becomes the program). Throws CancelledError or ShownError.
 *
 * @example await interactive({ input: fakeTty, output: sink });
 */
export async function interactive(io: PromptIO = {}): Promise<void> {
	intro("ckpt", io);
	const choice = answer(await select({
		message: "What do you want to do?",
		options: Object.entries(ACTIONS).map(([value, a]) => ({ value: value as keyof typeof ACTIONS, label: a.label })),
		...io,
	}), io);
	try {
		await ACTIONS[choice].action(io);
	} catch (e) {
		if (e instanceof CancelledError) throw e;
		cancel(e instanceof Error ? e.message : String(e), io);
		throw new ShownError("shown", { cause: e });
	}
}
