// Credentials (c/stub/credentials.c): each thread's ids, capability sets
// and securebits, and the dumpable flag, restored exactly or the restart
// refused before teardown. test/fixtures/credentials.c prints each
// thread's /proc/thread-self/status lines before the checkpoint and checks
// them again after the restart ("same main", "same thread", PASS).
import { expect, test } from "bun:test";
import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";
import { CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, spawn } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => {
	dir = d;
	chmodSync(dir, 0o777);
});

const PROGRAM = fixture("credentials");
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find(existsSync);
const AS_NOBODY = [SETPRIV!, "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
const isRoot = process.getuid!() === 0;
const env = () => ({ ...process.env, XDG_CACHE_HOME: join(dir, "cache"), HOME: dir });

async function checkpoint(cmd: string[]) {
	const run = spawn(cmd, { cwd: dir, stdin: "pipe", env: env() });
	await run.waitFor((out) => (out.match(/ready\n/g) ?? []).length >= 2);
	process.kill(run.pid, "SIGUSR2");
	expect({ code: await run.exit(), stderr: run.stderr }).toMatchObject({ code: EXIT_CHECKPOINTED });
	return run.stdout;
}

async function restart(prefix: string[] = []) {
	const run = spawn([...prefix, CKPT, "restart"], { cwd: dir, stdin: "pipe", env: env() });
	const stdin = run.proc.stdin as FileSink;
	stdin.write("go\n");
	stdin.flush();
	const code = await run.exit();
	return { code, stdout: run.stdout, stderr: run.stderr };
}

const statusOf = (out: string, who: string) => out.match(new RegExp(`^${who}: (.*)$`, "m"))?.[1] ?? "";
const field = (status: string, name: string) => status.match(new RegExp(`${name}: ([^;]*)`))?.[1];

if (!isRoot || !SETPRIV) console.warn("credentials.test.ts: needs root and setpriv for its privileged cases; those are skipped");

test.skipIf(!isRoot)("a root program's reduced capabilities, per thread, its ambient set, keepcaps and non-dumpable flag come back", async () => {
	const before = await checkpoint([CKPT, PROGRAM, "root"]);
	const main = statusOf(before, "main"), thread = statusOf(before, "thread");
	// The fixture did change them: the restart's own would differ.
	expect(main).toContain("dumpable 0; securebits 0x10");
	expect(BigInt(`0x${field(main, "CapBnd")}`) & (1n << 13n)).toBe(0n); // CAP_NET_RAW
	expect(BigInt(`0x${field(main, "CapPrm")}`) & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
	expect(BigInt(`0x${field(main, "CapAmb")}`)).toBe(1n << 10n); // CAP_NET_BIND_SERVICE
	expect(BigInt(`0x${field(thread, "CapEff")}`) & 1n).toBe(0n); // CAP_CHOWN, the second thread only
	expect(BigInt(`0x${field(main, "CapEff")}`) & 1n).toBe(1n);

	const after = await restart();
	expect(after.stderr).toBe("");
	expect(after.stdout).toContain("same main\n");
	expect(after.stdout).toContain("same thread\n");
	expect(after.stdout).toEndWith("PASS\n");
	expect(after.code).toBe(0);
}, 60000);

test.skipIf(!isRoot || !SETPRIV)("an unprivileged program's non-dumpable flag and bounding set come back in a new user namespace", async () => {
	await checkpoint([...AS_NOBODY, CKPT, PROGRAM, "plain"]);
	const after = await restart(AS_NOBODY);
	expect(after.stderr).toBe("");
	expect(after.stdout).toContain("same main\n");
	expect(after.stdout).toContain("same thread\n");
	expect(after.stdout).toEndWith("PASS\n");
}, 60000);

test.skipIf(!isRoot)("a real uid and gid other than the effective ones come back", async () => {
	const before = await checkpoint([CKPT, PROGRAM, "ruid"]);
	expect(statusOf(before, "main")).toContain("Uid: 65534 0 0 0; Gid: 65534 0 0 0;");
	const after = await restart();
	expect(after.stderr).toBe("");
	expect(after.stdout).toContain("same main\n");
	expect(after.stdout).toContain("same thread\n");
	expect(after.stdout).toEndWith("PASS\n");
}, 60000);

test.skipIf(!isRoot || !SETPRIV)("ids the restart cannot take (a saved gid of 0) refuse the restart before teardown, naming them", async () => {
	await checkpoint([CKPT, PROGRAM, "ids"]);
	// The image belongs to the uid that wrote it (65534): only it may restart it.
	const after = await restart(AS_NOBODY);
	expect(after.code).not.toBe(0);
	expect(after.stdout).toBe("");
	expect(after.stderr).toMatch(/^ckpt: cannot restart .*myckpt\.dat: thread \d+ ran with uids 65534\/65534\/65534\/65534, gids 65534\/65534\/0\/65534 \(real\/effective\/saved\/filesystem\), capabilities: permitted 0x0, bounding 0x[0-9a-f]+; a restart inside a new user namespace has only the restarting user's uid and gid \(restart as a user who may take them\)\n$/);
}, 60000);

test.skipIf(!isRoot || !SETPRIV)("capabilities a new user namespace could give only inside it refuse the restart", async () => {
	const ambient = [SETPRIV!, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=+net_bind_service",
		"--ambient-caps=+net_bind_service", "--"];
	const before = await checkpoint([...ambient, CKPT, PROGRAM, "plain"]);
	expect(BigInt(`0x${field(statusOf(before, "main"), "CapAmb")}`)).toBe(1n << 10n);
	const after = await restart(AS_NOBODY);
	expect(after.code).not.toBe(0);
	expect(after.stdout).toBe("");
	expect(after.stderr).toMatch(/thread \d+ ran with uids 65534\/65534\/65534\/65534, .*capabilities: permitted 0x400, .*; a restart inside a new user namespace cannot give capabilities outside it \(restart as a user who holds them\)\n$/);
}, 60000);
