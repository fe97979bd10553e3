// Namespaces (c/lib/namespaces.c): a restart cannot make again a namespace
// the program made or entered after ckpt started, so its checkpoint is
// refused naming it, the program running on; those ckpt was launched in
// are the environment's. Before this, `ckpt unshare -n PROGRAM` came back
// with the restart's network, without a word.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, lines, runToEnd, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const UNSHARE = ["/usr/bin/unshare", "/bin/unshare"].find(existsSync);
// -r: a user namespace first, so an unprivileged run may make the network one too.
const canUnshare = UNSHARE !== undefined && Bun.spawnSync([UNSHARE, "-r", "-n", "true"]).exitCode === 0;
if (!canUnshare) console.warn("namespaces.test.ts: unshare -r -n does not work here (no util-linux, or user namespaces are off); skipped");

test.skipIf(!canUnshare)("a network namespace the program made after ckpt started refuses its checkpoint, naming it; the program runs on", async () => {
	const run = await checkpointRun([UNSHARE!, "-r", "-n", fixture("late-threads")], { cwd: dir, afterLines: 2 });
	expect(run.code).toBe(0);
	expect(run.stderr).toMatch(/ckpt: checkpoint failed: the program's network namespace is its own \(net:\[\d+\]; ckpt was launched in net:\[\d+\]\): a restart cannot make it again; launch ckpt inside it instead \(as in `unshare -n ckpt PROGRAM`\); the program continues\n/);
	expect(run.stdout).toContain("tick 11\nall threads joined, heap intact\n");
	expect(existsSync(join(dir, "myckpt.dat"))).toBe(false);
}, 60000);

test.skipIf(!canUnshare)("namespaces ckpt was launched in are the environment's: checkpointed, and restarted", async () => {
	const run = spawn([UNSHARE!, "-r", "-n", CKPT, fixture("late-threads")], { cwd: dir });
	await run.waitFor((out) => lines(out) >= 2);
	process.kill(run.pid, "SIGUSR2"); // unshare and ckpt exec in place: the program has this pid
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	// Like the cgroup, the environment is the restart's to give: a user namespace of its
	// own again, where the program's uid 0 and capabilities are what they were.
	const after = await runToEnd([UNSHARE!, "-r", "-n", CKPT, "restart"], { cwd: dir }, 30000);
	expect(after.stderr).toBe("");
	expect(after.stdout).toContain("all threads joined, heap intact\n");
	expect(after.code).toBe(0);
}, 60000);

const canChroot = process.getuid!() === 0 && Bun.which("python3") !== null;
test.skipIf(!canChroot)("a root directory the program changed (chroot) refuses its checkpoint before anything stops; the program runs on", async () => {
	mkdirSync(join(dir, "jail"));
	const script = `import os, time\nos.chroot(${JSON.stringify(join(dir, "jail"))}); os.chdir("/")\n` +
		`for i in range(12):\n    print("tick", i, flush=True); time.sleep(0.1)\nprint("done", flush=True)\n`;
	const run = await checkpointRun(["python3", "-c", script], { cwd: dir, afterLines: 2 });
	expect(run.code).toBe(0);
	expect(run.stderr).toBe("ckpt: checkpoint failed: the program changed its root directory (chroot) since ckpt started: a restart would " +
		"open its saved paths from its own root, other files or none; launch ckpt inside the new root instead (as in " +
		"`chroot DIR ckpt PROGRAM`); the program continues\n");
	expect(run.stdout).toEndWith("tick 11\ndone\n");
}, 60000);
