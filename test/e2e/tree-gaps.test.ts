// Process trees, the moments and descriptors real programs hit (issue #14,
// docs/process-trees.md): a member caught between an exec and its new
// program's libckpt is waited for, not refused; a pipe end whose other end
// no process holds any more is kept as it is, its unread bytes then EOF
// for a reader, EPIPE for a writer.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ckpt, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd } from "./harness.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

// tree-exec-loop's child execs itself without pause, so most requests find
// it in an exec, before its next libckpt (without the wait, about half of
// these checkpoints were refused as "runs without ckpt").
test("a child always between two programs: 20 checkpoints in a row each wait for its new program, none refused; the last, restarted, lets the child run on and end as it would have", async () => {
	const run = ckpt([fixture("tree-exec-loop")], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("started\n"));
	for (let i = 0; i < 20; i++) {
		const each = await runToEnd([CKPT, "checkpoint", String(run.pid), "--continue"], { cwd: dir });
		expect(each.stderr).toBe("");
		expect(each.code).toBe(0);
	}
	process.kill(run.pid, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	expect(run.stdout).toBe("started\n");
	const rest = spawnRestart();
	writeFileSync(join(dir, "stop"), "");
	expect(await rest.exit()).toBe(0);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toBe("child ended: exit 0\n");
}, 90000);

function spawnRestart(): Running {
	const r = ckpt(["restart"], { cwd: dir });
	running.push(r);
	return r;
}
