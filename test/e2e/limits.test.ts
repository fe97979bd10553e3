// Resource limits (c/stub/limits.c): soft and hard, restored exactly, or
// the restart refused before teardown when it may not raise a hard one.
// The program is bash, which reads them back itself with `ulimit`.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { FileSink } from "bun";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find(existsSync);
const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find(existsSync);
const REPORT = 'echo ready; read x; echo "nofile $(ulimit -Sn) $(ulimit -Hn) core $(ulimit -Sc) $(ulimit -Hc)"';

async function checkpoint(setup: string) {
	const run = spawn([CKPT, "/bin/bash", "-c", `${setup}; ${REPORT}`], { cwd: dir, stdin: "pipe" });
	await run.waitFor((out) => out.includes("ready\n"));
	process.kill(run.pid, "SIGUSR2");
	expect({ code: await run.exit(), stderr: run.stderr }).toEqual({ code: EXIT_CHECKPOINTED, stderr: expect.stringContaining("checkpoint written") });
}

async function restart(prefix: string[]) {
	const run = spawn([...prefix, CKPT, "restart"], { cwd: dir, stdin: "pipe" });
	const stdin = run.proc.stdin as FileSink;
	stdin.write("go\n");
	stdin.flush();
	const code = await run.exit();
	return { code, stdout: run.stdout, stderr: run.stderr };
}

test.skipIf(!PRLIMIT)("hard limits the program lowered and soft ones it set come back, whatever the restart's", async () => {
	await checkpoint("ulimit -Sn 700; ulimit -Hn 900; ulimit -Sc 0; ulimit -Hc 0");
	// The restart's own differ in both directions: it must not hand them over.
	const after = await restart([PRLIMIT!, "--nofile=2000:4000", "--core=100:unlimited"]);
	expect(after.stderr).toBe("");
	expect(after.stdout).toBe("nofile 700 900 core 0 0\n");
	expect(after.code).toBe(0);
}, 60000);

const canDropResource = process.getuid!() === 0 && SETPRIV !== undefined && PRLIMIT !== undefined;
if (!canDropResource) console.warn("limits.test.ts: needs root, setpriv and prlimit to restart without CAP_SYS_RESOURCE; that case is skipped");
test.skipIf(!canDropResource)("a hard limit above the restart's, which it may not raise, refuses the restart before teardown", async () => {
	await checkpoint("ulimit -Sn 3000; ulimit -Hn 5000");
	const withoutResource = [PRLIMIT!, "--nofile=100:1000", SETPRIV!, "--bounding-set=-sys_resource", "--inh-caps=-sys_resource"];
	const refused = await restart(withoutResource);
	expect(refused.code).not.toBe(0);
	expect(refused.stdout).toBe("");
	expect(refused.stderr).toMatch(/^ckpt: cannot restart \S+: the program's hard RLIMIT_NOFILE was 5000, this restart's is 1000 and it may not raise it \(CAP_SYS_RESOURCE; fs\.nr_open\): Operation not permitted\n$/);
	// A restart whose hard limit is higher: lowered to the program's.
	const after = await restart([PRLIMIT!, "--nofile=100:6000"]);
	expect(after.stderr).toBe("");
	expect(after.stdout).toStartWith("nofile 3000 5000 core ");
	expect(after.code).toBe(0);
}, 60000);
