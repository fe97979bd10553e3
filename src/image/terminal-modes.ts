/** How `ckpt info` and --json describe a saved terminal: the modes a full-screen program changes. */
import type { Termios } from "./types.ts";

/** As stty names them: "-icanon -echo isig opost". */
export function terminalModes(t: Termios): string {
	const on = (v: number, bit: number, name: string) => (v & bit ? name : `-${name}`);
	return [on(t.lflag, 0o2, "icanon"), on(t.lflag, 0o10, "echo"), on(t.lflag, 0o1, "isig"), on(t.oflag, 0o1, "opost")].join(" ");
}
