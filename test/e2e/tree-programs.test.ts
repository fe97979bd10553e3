// Process trees (issue #14, docs/process-trees.md): a program that starts
// other processes is checkpointed whole at one signal to the launched pid
// and restarted whole; its output equals an uninterrupted run's, what must
// stay the same (pids, parents, waitpid on the pids fork returned) is
// checked from inside after the restart, and `ckpt info`, `--json` and
// `ckpt list` name every process of the image.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointRun, ckpt, CKPT, descendants, eachTestInTempDir, EXIT_CHECKPOINTED, fixture, type Running, runToEnd, until } from "./harness.ts";
import { checkpointWhen, slowMakefile } from "./tree-runs.ts";

let dir: string;
const running: Running[] = [];
eachTestInTempDir((d) => (dir = d), running);

const PIPELINE = ["/usr/bin/bash", "-c", 'for i in $(seq 1 30); do echo "r $i"; sleep 0.2; done | cat -n | tr a-z A-Z'];

const comm = (pid: number) => {
	try {
		return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
	} catch {
		return "";
	}
};

const hasLibckpt = (pid: number) => {
	try {
		return readFileSync(`/proc/${pid}/maps`, "utf8").includes("libckpt");
	} catch {
		return false;
	}
};

/**
 * Launches the pipeline under ckpt and checkpoints it once its loop has
 * started `sleeps` sleeps: mid-stream, tr holding what it buffered. The
 * signal goes when that sleep runs libckpt, or, `duringExec`, the moment
 * its exec shows (its comm is sleep), likely before its libckpt is loaded.
 */
async function checkpointPipeline(sleeps: number, duringExec = false) {
	const run = ckpt(PIPELINE, { cwd: dir });
	running.push(run);
	const seen = new Set<number>();
	let newest = 0;
	await until(() => {
		for (const p of descendants(run.pid)) if (comm(p) === "sleep" && !seen.has(p)) seen.add(p), (newest = p);
		return (seen.size >= sleeps && (duringExec || hasLibckpt(newest))) || run.proc.exitCode !== null;
	}, () => `${seen.size} sleeps seen; stderr ${run.stderr}`);
	process.kill(run.pid, "SIGUSR2");
	return { code: await run.exit(), stdout: run.stdout, stderr: run.stderr, pid: run.pid };
}

/** The pipeline checkpointed and restarted: the output of both runs together is an uninterrupted run's. */
async function pipelineAcrossRestart(sleeps: number, duringExec: boolean) {
	const reference = await runToEnd(PIPELINE, { cwd: dir });
	expect(reference.code).toBe(0);
	expect(reference.stdout.split("\n")).toHaveLength(31);
	const first = await checkpointPipeline(sleeps, duringExec);
	expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
	expect(first.code).toBe(EXIT_CHECKPOINTED);
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stderr).toBe("");
	expect(first.stdout + rest.stdout).toBe(reference.stdout);
	expect(rest.code).toBe(0);
}

for (const sleeps of [2, 15])
	test(`bash running a pipeline (loop | cat -n | tr), checkpointed after ${sleeps} of its 30 rounds: the restarted tree prints what an uninterrupted run prints`,
		() => pipelineAcrossRestart(sleeps, false), 90000);

// A member between exec and its libckpt's constructor is a member all the
// same (docs/process-trees.md: the trigger waits blocked across the exec):
// the root waits for its libckpt before asking it. The moment is not
// always hit here; tree-gaps.test.ts hits it twenty times in a row.
test("bash running a pipeline, checkpointed the moment its loop execs a sleep: the checkpoint waits for the new program, the restarted tree prints what an uninterrupted run prints",
	() => pipelineAcrossRestart(5, true), 90000);

/** Output with the pid lines' numbers left out: they differ from run to run. */
const withoutPids = (out: string) => out.replace(/^parent pid \d+$/gm, "parent pid P");

for (const afterLines of [3, 25])
	test(`a parent and two workers joined by pipes, checkpointed after ${afterLines} lines: same output, same pids, waitpid on the pids fork returned reaps each`, async () => {
		const reference = await runToEnd([fixture("tree-workers")], { cwd: dir });
		expect(reference.code).toBe(0);
		const first = await checkpointRun([fixture("tree-workers")], { cwd: dir, afterLines });
		expect(first.stderr).toMatch(/^ckpt: checkpoint written to .*; stopping with exit status 85\n$/);
		expect(first.code).toBe(EXIT_CHECKPOINTED);
		const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
		expect(rest.stderr).toBe("");
		const checks = rest.stdout.split("\n").filter((l) => /^(PASS|FAIL) /.test(l));
		expect(checks.filter((l) => l.startsWith("FAIL"))).toEqual([]);
		expect(checks).toHaveLength(5);
		expect(withoutPids(first.stdout + rest.stdout)).toBe(withoutPids(reference.stdout));
		// getpid() before the checkpoint and after the restart
		const before = first.stdout.match(/^parent pid (\d+)$/m)![1];
		expect(rest.stdout.match(/^parent pid (\d+)$/m)![1]).toBe(before);
		expect(rest.code).toBe(0);
	}, 90000);

test("ckpt info, --json and ckpt list of a tree's image name every process; a member image names its tree", async () => {
	const run = ckpt([fixture("tree-workers"), "60"], { cwd: dir });
	running.push(run);
	await run.waitFor((o) => o.includes("round 3:"));
	const root = run.pid;
	const workers = descendants(root).sort((a, b) => a - b);
	expect(workers).toHaveLength(2);
	process.kill(root, "SIGUSR2");
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);

	const info = await runToEnd([CKPT, "info"], { cwd: dir });
	expect(info.stderr).toBe("");
	expect(info.code).toBe(0);
	expect(info.stdout).toMatch(/^tree +root of 3 processes \(tree id [0-9a-f]{16}\)$/m);
	const row = (pid: number) => info.stdout.split("\n").find((l) => new RegExp(`^ +${pid} +\\d+ `).test(l));
	expect(row(root)).toMatch(new RegExp(`^ +${root} +\\d+ +\\d+ +\\d+ +root +\\S*tree-workers \\(tree-workers\\) +1 thread +myckpt\\.dat +`));
	for (const w of workers)
		expect(row(w)).toMatch(new RegExp(`^ +${w} +${root} +\\d+ +\\d+ +live +\\S*tree-workers \\(tree-workers\\) +1 thread +myckpt\\.dat\\.[0-9a-f]{16}\\.${w} +[\\d.]+ [KM]iB$`));

	const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
	expect(json.tree).toMatchObject({ rootPid: root, role: "root" });
	expect(json.tree.processes.map((p: { pid: number }) => p.pid)).toEqual([root, ...workers]);
	for (const p of json.tree.processes.slice(1)) {
		expect(p).toMatchObject({ ppid: root, kind: "live", comm: "tree-workers", threads: 1, exit: null });
		expect(p.program).toEndWith("tree-workers");
		expect(p.image.problem).toBeNull();
		expect(readFileSync(join(dir, p.image.file)).length).toBe(p.image.size);
	}

	const member = JSON.parse((await runToEnd([CKPT, "info", "--json", json.tree.processes[1].image.file], { cwd: dir })).stdout);
	expect(member).toMatchObject({ pid: workers[0], ppid: root, tree: { rootPid: root, role: "member", id: json.tree.id, processes: null } });
	expect((await runToEnd([CKPT, "info", json.tree.processes[1].image.file], { cwd: dir })).stdout)
		.toMatch(new RegExp(`^tree +pid ${workers[0]} of the process tree of pid ${root} \\(tree id ${json.tree.id}\\); restart the tree's root image$`, "m"));

	const list = await runToEnd([CKPT, "list"], { cwd: dir });
	expect(list.stdout.trim().split("\n")).toHaveLength(2); // the heading and the tree's root image
	expect(list.stdout).toMatch(/^myckpt\.dat +.* tree-workers 60 \(3 processes\)$/m);

	// the tree restarts whole from the root image and runs to its end
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir }, 90000);
	expect(rest.stderr).toBe("");
	expect(rest.stdout).toContain("round 60: 3600 3601\n");
	expect(rest.code).toBe(0);
}, 120000);

test("ckpt info --json of the pipeline's image names bash, its subshell, cat, tr and the sleep of the moment, each from its own image", async () => {
	const first = await checkpointPipeline(3);
	expect(first.code).toBe(EXIT_CHECKPOINTED);
	const json = JSON.parse((await runToEnd([CKPT, "info", "--json"], { cwd: dir })).stdout);
	const processes: { pid: number; ppid: number; comm: string; kind: string; program: string | null; image: { file: string; problem: string | null } | null }[] = json.tree.processes;
	expect(processes[0]!.pid).toBe(first.pid);
	const named = (c: string) => processes.filter((p) => p.comm === c).length;
	expect([named("bash") >= 2, named("cat"), named("tr"), named("sleep") <= 1]).toEqual([true, 1, 1, true]); // between two rounds no sleep runs
	for (const p of processes.filter((q) => q.kind === "live")) {
		expect(p.image!.problem).toBeNull();
		expect(existsSync(join(dir, p.image!.file))).toBe(true);
	}
	expect(processes.find((p) => p.comm === "tr")!.program).toBe("/usr/bin/tr");
	const text = (await runToEnd([CKPT, "info"], { cwd: dir })).stdout;
	for (const p of processes) expect(text).toMatch(new RegExp(`^ +${p.pid} +${p.ppid} `, "m"));
	// tr's stdout is the launch's, which bash (the root) holds first
	const tr = processes.find((p) => p.comm === "tr")!;
	const trInfo = (await runToEnd([CKPT, "info", tr.image!.file], { cwd: dir })).stdout;
	expect(trInfo).toMatch(new RegExp(`^ +1 +inherited +\\S+ +- +\\(shared with pid ${first.pid} fd 1\\)$`, "m"));
}, 60000);

// The other programs (issue #14, "Done when").

// make 4.3 gives every job but one a "bad stdin", a pipe whose write end it closed at once (EOF for whoever
// reads): make's fd 5 and the recipes' fd 0, kept as a pipe with no writer. The jobserver pipe (fds 3, 4)
// make holds alone: recipes other than $(MAKE) and "+" ones get it closed on exec.
test("make -j2 of recipes that sleep and write files, checkpointed mid-build: the restarted build finishes, every target built once", async () => {
	const targets = ["a", "b", "c", "d", "e", "f"];
	writeFileSync(join(dir, "Makefile"), slowMakefile(targets));
	const before = await checkpointWhen(dir, [CKPT, "make", "-s", "-j2"], (o) => o.includes("built b\n"), running);
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stderr).toBe("");
	expect(rest.code).toBe(0);
	const built = (before + rest.stdout).split("\n").filter(Boolean).sort();
	expect(built).toEqual(targets.map((t) => `built ${t}`));
	for (const t of targets) expect(readFileSync(join(dir, t), "utf8")).toBe(`built ${t}\n`);
}, 90000);

// xargs takes SIGUSR1/SIGUSR2 for itself (-P up and down), hence another trigger; its stdin, a pipe whose writer
// (seq) has exited, is kept with its unread bytes and no write end.
test("seq | xargs -P2 | sort | uniq -c, checkpointed mid-stream: the restarted tree prints what an uninterrupted run prints", async () => {
	const program = ["/usr/bin/bash", "-c", `seq 1 16 | xargs -P2 -n1 sh -c 'sleep 0.3; echo "item $0"' | sort -n -k2 | uniq -c`];
	const reference = await runToEnd(program, { cwd: dir });
	expect(reference.code).toBe(0);
	const run = ckpt(["--signal", "SIGRTMIN+3", ...program], { cwd: dir });
	running.push(run);
	await until(() => descendants(run.pid).filter((p) => comm(p) === "sleep" && hasLibckpt(p)).length >= 2, () => run.stderr);
	await runToEnd([CKPT, "checkpoint", String(run.pid)], { cwd: dir });
	expect(await run.exit()).toBe(EXIT_CHECKPOINTED);
	const rest = await runToEnd([CKPT, "restart"], { cwd: dir });
	expect(rest.stderr).toBe("");
	expect(run.stdout + rest.stdout).toBe(reference.stdout);
	expect(rest.code).toBe(0);
}, 90000);
