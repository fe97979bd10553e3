/** Interactive "checkpoint": pick one of this user's ckpt-managed processes, then exactly `ckpt checkpoint`. */
import { log, outro, select } from "@clack/prompts";
import { requestCheckpoint } from "../protocol/checkpoint-request.ts";
import { DEFAULT_TIMEOUT_S, describeResult } from "../cli/checkpoint-report.ts";
import { CKPT_EXIT_CHECKPOINTED } from "../protocol/protocol.ts";
import { RuntimeError } from "../cli/errors.ts";
import { managedProcesses } from "../process/proc.ts";
import { processChoices } from "./choices.ts";
import { answer, type PromptIO } from "./io.ts";

export async function checkpointAction(io: PromptIO): Promise<void> {
	const processes = managedProcesses(process.getuid!());
	if (processes.length === 0) throw new RuntimeError("no running ckpt-managed processes of yours");
	const pid = answer(await select({ message: "Process to checkpoint", options: processChoices(processes), ...io }), io);
	// Only a program launched without --continue has a choice to make.
	const keepRunning = processes.find((p) => p.pid === pid)!.keepsRunning || answer(await select({
		message: "After the checkpoint",
		options: [
			{ value: false, label: `Stop it (exit status ${CKPT_EXIT_CHECKPOINTED}), to restart it later` },
			{ value: true, label: "Keep it running" },
		],
		...io,
	}), io);
	log.step(`Waiting for process ${pid} to write its image...`, io);
	const result = await requestCheckpoint(pid, { keepRunning, timeoutMs: DEFAULT_TIMEOUT_S * 1000, warn: (line) => log.warn(line, io) });
	outro(describeResult(result), io);
}
