/** Interactive "run": pick an executable, type its arguments, then exactly `ckpt run`. */
import { outro, text } from "@clack/prompts";
import { run } from "../commands/run.ts";
import { checkProgram, resolveProgram } from "../process/program.ts";
import { splitWords } from "../cli/shell-words.ts";
import { parseInterval } from "../cli/periodic.ts";
import { answer, type PromptIO } from "./io.ts";

/** Why `name` cannot be run under ckpt, or undefined if it can (the checks `ckpt run` makes). */
export function programProblem(name: string | undefined): string | undefined {
	if (!name?.trim()) return "type a program: a path, or a command on PATH";
	try {
		const cwd = process.cwd();
		checkProgram(resolveProgram(name.trim(), process.env.PATH, cwd), name.trim(), process.env.PATH, cwd);
		return undefined;
	} catch (e) {
		return (e as Error).message;
	}
}

/** Why `typed` is not an interval `--interval` takes, or undefined (empty: no periodic checkpoints). */
export function intervalProblem(typed: string | undefined): string | undefined {
	if (!typed?.trim()) return undefined;
	try {
		parseInterval(typed.trim());
		return undefined;
	} catch (e) {
		return (e as Error).message;
	}
}

export async function runAction(io: PromptIO): Promise<never> {
	const program = answer(await text({
		message: "Program to run",
		placeholder: "./simulation, or a command on PATH",
		validate: programProblem,
		...io,
	}), io).trim();
	const line = answer(await text({
		message: "Its arguments",
		placeholder: "none; quote words with spaces: 'a b'",
		validate: (v) => {
			const words = splitWords(v ?? "");
			return words instanceof Error ? words.message : undefined;
		},
		...io,
	}), io);
	const args = splitWords(line ?? "") as string[];
	const interval = (answer(await text({
		message: "Checkpoint it periodically, in the background?",
		placeholder: "no; or every: 500ms, 90s, 10m, 1h",
		validate: intervalProblem,
		...io,
	}), io) ?? "").trim();
	const every = interval ? `, and every ${interval} in the background` : "";
	outro(`Running ${program} as pid ${process.pid}; checkpoint it with: ckpt checkpoint ${process.pid}${every}`, io);
	const values: Record<string, string> = interval ? { interval } : {};
	return run({ command: "run", cacArgs: [], values, program, programArgs: args }, {});
}
