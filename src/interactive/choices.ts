/**
 * The lists the interactive mode offers, as select options whose labels
 * line up in columns (each label is one row of a table). Pure: data in,
 * options out.
 */
import type { ListedImage } from "../image/list.ts";
import { programLine } from "../image/list.ts";
import type { ManagedProcess } from "../process/proc.ts";
import { age, bytes, table, uptime } from "../cli/text.ts";

export interface Choice<T> {
	value: T;
	label: string;
	hint?: string;
	disabled?: boolean;
}

/** Rows of cells as aligned labels, without the table's indentation. */
function columns(rows: string[][], right: number[]): string[] {
	return table(rows, right, "").split("\n");
}

/**
 * Images with program, age and size; unusable ones shown, not selectable.
 * `forRestart`: also those the restart would refuse (another user's).
 */
export function imageChoices(images: ListedImage[], nowMs: number, forRestart = false): Choice<string>[] {
	const why = (i: ListedImage) => i.error ?? (forRestart ? i.refusal : undefined);
	const labels = columns(images.map((i) => [
		i.name, i.image && !why(i) ? programLine(i.image, 40) : "(unusable)", age(i.timeMs, nowMs), bytes(i.size),
	]), [3]);
	return images.map((i, k) => {
		const reason = why(i);
		return { value: i.path, label: labels[k]!, ...(reason !== undefined && { hint: reason, disabled: true }) };
	});
}

/** Processes with pid, program and how long they have been running. */
export function processChoices(processes: ManagedProcess[]): Choice<number>[] {
	const labels = columns(processes.map((p) => [
		String(p.pid),
		p.argv.length > 0 ? [p.argv[0]!.split("/").pop(), ...p.argv.slice(1)].join(" ").slice(0, 50) : "?",
		p.uptime === null ? "" : `up ${uptime(p.uptime)}`,
		p.status === null ? "starting" : p.status.count > 0 ? `${p.status.count} checkpoint${p.status.count === 1 ? "" : "s"}` : "",
	]), [0]);
	return processes.map((p, k) => ({ value: p.pid, label: labels[k]! }));
}
