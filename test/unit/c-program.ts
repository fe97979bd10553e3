// Compiles and runs a small C program (the mirror tests print a header's
// layout and constants with it) and returns its output lines.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function runCProgram(source: string): string[] {
	const dir = mkdtempSync(join(tmpdir(), "ckpt-cprog-"));
	try {
		writeFileSync(join(dir, "prog.c"), source);
		const cc = Bun.spawnSync(["cc", "-std=c11", "-Wall", "-Werror", "-o", join(dir, "prog"), join(dir, "prog.c")]);
		if (cc.exitCode !== 0) throw new Error(`cc failed:\n${cc.stderr.toString()}`);
		const run = Bun.spawnSync([join(dir, "prog")]);
		if (run.exitCode !== 0) throw new Error("the C program failed");
		return run.stdout.toString().trim().split("\n");
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
