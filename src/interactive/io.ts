/**
 * What every step of the interactive mode shares: the streams the prompts
 * read and write (injectable, so tests can drive them without a terminal)
 * and the one way a cancelled prompt ends the session.
 */
import { cancel, isCancel } from "@clack/prompts";
import type { Readable, Writable } from "node:stream";
import { CancelledError } from "../cli/errors.ts";

export interface PromptIO {
	input?: Readable;
	output?: Writable;
}

/**
 * A prompt's answer, or, if the user cancelled it (Ctrl-C, Escape), the
 * cancel message on screen and a CancelledError (exit 130).
 *
 * @example const name = answer(await text({ message: "Name?", ...io }), io);
 */
export function answer<T>(value: T, io: PromptIO): Exclude<T, symbol> {
	if (isCancel(value)) {
		cancel("Cancelled", io);
		throw new CancelledError("cancelled");
	}
	return value as Exclude<T, symbol>;
}

/** Text below the prompts (a table), written as is. */
export function print(io: PromptIO, text: string): void {
	(io.output ?? process.stdout).write(`${text}\n`);
}
