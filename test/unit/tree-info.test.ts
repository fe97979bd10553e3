/**
 * `ckpt info`, `--json` and `ckpt list` of a process tree's images: the
 * root image lists every process (its member images read beside it), a
 * member image names its tree, a list shows the tree once.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CKPT_FD_INHERIT, CKPT_FD_PIPE_READ, CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE } from "../../src/image/format.ts";
import { infoJson } from "../../src/image/json.ts";
import { listImages, programLine } from "../../src/image/list.ts";
import { readImage } from "../../src/image/read.ts";
import { renderInfo } from "../../src/image/render.ts";
import { treeProcesses } from "../../src/image/tree-info.ts";
import { buildImage, defaultSpec, type FdSpec, TREE_ID } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-tree-info-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const STUB = join(import.meta.dir, "../../build/ckpt-restore");

const ROOT = 4242;
const memberFile = (pid: number) => `tree.dat.${TREE_ID.toString(16).padStart(16, "0")}.${pid}`;

/** A member's image: its own pid and id, the root's tree; its stdin the root's, a pipe the root made. */
function memberImage(pid: number, exe: string, fds: FdSpec[] = [
	{ fd: 0, kind: CKPT_FD_INHERIT, share: [ROOT, 0] },
	{ fd: 4, kind: CKPT_FD_PIPE_READ, share: [ROOT, 4] },
]) {
	const spec = defaultSpec();
	spec.pid = pid, spec.tids = [pid, pid + 1].slice(0, pid === 4300 ? 2 : 1);
	spec.exe = exe, spec.argv = [exe];
	spec.imageId = 0x5000n + BigInt(pid);
	spec.tree = { pgid: ROOT, sid: ROOT, treeId: TREE_ID, rootPid: ROOT };
	spec.fds = fds;
	return buildImage(spec);
}

/** Writes the tree: root tree.dat, workers 4300 (two threads) and 4302, zombies 4301 (exit 3) and 4303 (SIGTERM). */
function writeTree(into: string, change: (files: Map<number, Uint8Array>) => void = () => {}) {
	const files = new Map([[4300, memberImage(4300, "/usr/bin/worker-a")], [4302, memberImage(4302, "/usr/bin/worker-b")]]);
	const idOf = (img: Uint8Array) => readImage(write(into, "probe.dat", img)).header;
	const live = (pid: number) => {
		const h = idOf(files.get(pid)!);
		return { pid, ppid: ROOT, kind: CKPT_MEMBER_LIVE, file: memberFile(pid), imageId: h.imageId, fileSize: BigInt(h.fileSize),
			headerCrc: h.headerCrc, comm: pid === 4300 ? "worker-a" : "worker-b", nthreads: h.nthreads };
	};
	const spec = defaultSpec();
	spec.tree = { pgid: ROOT, sid: ROOT, members: [
		live(4300), { pid: 4301, ppid: ROOT, kind: CKPT_MEMBER_ZOMBIE, waitStatus: 3 << 8, comm: "quitter" },
		live(4302), { pid: 4303, ppid: 4300, kind: CKPT_MEMBER_ZOMBIE, waitStatus: 15, comm: "victim" },
	] };
	rmSync(join(into, "probe.dat"));
	change(files);
	for (const [pid, img] of files) write(into, memberFile(pid), img);
	return write(into, "tree.dat", buildImage(spec));
}

function write(into: string, name: string, bytes: Uint8Array) {
	const p = join(into, name);
	writeFileSync(p, bytes, { mode: 0o600 });
	return p;
}

test("ckpt info of a root image: every process, parents first, with its program, threads or exit, image and size", () => {
	const p = writeTree(dir);
	const image = readImage(p);
	const text = renderInfo(image, Date.now(), treeProcesses(image, readImage));
	expect(text).toMatch(/^tree +root of 5 processes \(tree id 00000000000000a1\)$/m);
	expect(text).toContain("processes (5, parents first; each restored from its own image):");
	const row = (pid: number) => text.split("\n").find((l) => new RegExp(`^ +${pid} `).test(l))!.trim().split(/ {2,}/);
	const size = (pid: number) => readFileSync(join(dir, pid === ROOT ? "tree.dat" : memberFile(pid))).length;
	expect(row(ROOT)).toEqual(["4242", "0", "4242", "4242", "root", "/usr/bin/demo (demo)", "1 thread", "tree.dat", `${(size(ROOT) / 1024).toFixed(1)} KiB`]);
	expect(row(4300)).toEqual(["4300", "4242", "4242", "4242", "live", "/usr/bin/worker-a (worker-a)", "2 threads", memberFile(4300), `${(size(4300) / 1024).toFixed(1)} KiB`]);
	expect(row(4301)).toEqual(["4301", "4242", "4242", "4242", "zombie", "quitter", "exited 3", "-", "-"]);
	expect(row(4303)).toEqual(["4303", "4300", "4242", "4242", "zombie", "victim", "killed by SIGTERM", "-", "-"]);
	expect(text).not.toContain("foreground group");
	// without reading the member images (the default): the table's comm only
	expect(renderInfo(image, Date.now())).toMatch(/^ +4302 +4242 +4242 +4242 +live +worker-b +1 thread +tree\.dat\.00000000000000a1\.4302 /m);
});

test("the terminal's foreground group, when one of the tree's had it, in the summary and --json", () => {
	const sub = mkdtempSync(join(dir, "tty-"));
	const spec = defaultSpec();
	spec.tree = { pgid: ROOT, sid: ROOT, ttyPgrp: 4300, members: [{ pid: 4300, ppid: ROOT, pgid: 4300, kind: CKPT_MEMBER_LIVE }] };
	const image = readImage(write(sub, "tty.dat", buildImage(spec)));
	expect(renderInfo(image, Date.now())).toMatch(/^tree +root of 2 processes \(tree id 00000000000000a1\); the terminal's foreground group 4300$/m);
	expect(infoJson(image).tree!.terminalGroup).toBe(4300);
});

test("--json: the tree with each process, a zombie's exit, each image; pgid and sid at the top", () => {
	const image = readImage(writeTree(dir));
	const doc = infoJson(image, treeProcesses(image, readImage));
	expect([doc.pgid, doc.sid]).toEqual([ROOT, ROOT]);
	expect(doc.tree).toMatchObject({ id: "00000000000000a1", rootPid: ROOT, role: "root", terminalGroup: null });
	const procs = doc.tree!.processes!;
	expect(procs.map((q) => [q.pid, q.ppid, q.kind, q.program, q.threads])).toEqual([
		[ROOT, 0, "live", "/usr/bin/demo", 1], [4300, ROOT, "live", "/usr/bin/worker-a", 2], [4301, ROOT, "zombie", null, null],
		[4302, ROOT, "live", "/usr/bin/worker-b", 1], [4303, 4300, "zombie", null, null],
	]);
	expect(procs[2]!.exit).toEqual({ code: 3, signal: null, text: "exited 3" });
	expect(procs[4]!.exit).toEqual({ code: null, signal: 15, text: "killed by SIGTERM" });
	expect(procs[1]!.image).toEqual({ file: memberFile(4300), size: readFileSync(join(dir, memberFile(4300))).length, problem: null });
	expect(procs[2]!.image).toBeNull();
	expect(infoJson(readImage(join(dir, memberFile(4300)))).tree).toEqual({
		id: "00000000000000a1", rootPid: ROOT, role: "member", terminalGroup: null, processes: null,
	});
	const single = join(dir, "single.dat");
	writeFileSync(single, buildImage());
	expect(infoJson(readImage(single)).tree).toBeNull();
});

test("a member image that is missing or replaced since is named in its row, in the restart's words", () => {
	const sub = mkdtempSync(join(dir, "bad-"));
	const p = writeTree(sub, (files) => {
		files.delete(4302);
		files.set(4300, memberImage(4300, "/usr/bin/impostor")); // written after the table named the first one
	});
	const image = readImage(p);
	const procs = treeProcesses(image, readImage);
	expect(procs[1]!.problem).toBe("not the image this checkpoint wrote (replaced or altered since)");
	expect(procs[3]!.problem).toBe("cannot open (no such file)");
	expect(procs.filter((q) => q.problem).length).toBe(2);
	expect(renderInfo(image, Date.now(), treeProcesses(image, readImage))).toContain(
		`${memberFile(4300)}: not the image this checkpoint wrote (replaced or altered since)`);
});

test("ckpt info of a member image says which tree it belongs to, and its shared descriptors whose they are", () => {
	writeTree(dir);
	const text = renderInfo(readImage(join(dir, memberFile(4300))), Date.now());
	expect(text).toMatch(/^tree +pid 4300 of the process tree of pid 4242 \(tree id 00000000000000a1\); restart the tree's root image$/m);
	expect(text).not.toContain("processes (");
	expect(text).toMatch(/^ +0 +inherited +O_RDONLY +- +\(shared with pid 4242 fd 0\)$/m);
	expect(text).toMatch(/^ +4 +pipe read +O_RDONLY +- +pipe \(0 B unread\) \(shared with pid 4242 fd 4\)$/m);
	const doc = infoJson(readImage(join(dir, memberFile(4300))));
	expect(doc.files.map((f) => f.sharedWith)).toEqual([{ pid: ROOT, fd: 0 }, { pid: ROOT, fd: 4 }]);
	const single = join(dir, "single.dat");
	writeFileSync(single, buildImage());
	expect(renderInfo(readImage(single), Date.now())).not.toMatch(/^tree /m);
	expect(renderInfo(readImage(single), Date.now())).not.toContain("shared with");
});

test("ckpt list shows a tree once, its root with the process count and all its files' size; a member without its root is unusable", () => {
	const sub = mkdtempSync(join(dir, "list-"));
	writeTree(sub);
	const found = listImages(sub, STUB);
	expect(found.map((f) => f.name)).toEqual(["tree.dat"]);
	const all = ["tree.dat", memberFile(4300), memberFile(4302)].reduce((n, f) => n + readFileSync(join(sub, f)).length, 0);
	expect(found[0]).toMatchObject({ processes: 5, size: all });
	expect(programLine(found[0]!.image!)).toBe("demo --count 3 (5 processes)");
	expect(programLine(found[0]!.image!, 24)).toBe("demo --co… (5 processes)");
	expect(found[0]!.refusal).toBeUndefined();
	// a member file gone: the root is the one a restart refuses, in its words
	const worker = readFileSync(join(sub, memberFile(4302)));
	rmSync(join(sub, memberFile(4302)));
	expect(listImages(sub, STUB)[0]!.refusal).toBe(`member image ${memberFile(4302)} of pid 4302: No such file or directory`);
	writeFileSync(join(sub, memberFile(4302)), memberImage(4302, "/usr/bin/other"), { mode: 0o600 });
	expect(listImages(sub, STUB)[0]!.refusal).toBe(
		`member image ${memberFile(4302)} of pid 4302: not the image this checkpoint wrote (replaced or altered since)`);
	writeFileSync(join(sub, memberFile(4302)), worker, { mode: 0o600 });
	rmSync(join(sub, "tree.dat"));
	const orphans = listImages(sub, STUB);
	expect(orphans.map((f) => f.name).sort()).toEqual([memberFile(4300), memberFile(4302)]);
	for (const o of orphans) expect(o.error ?? o.refusal).toMatch(/a member of the process tree of pid 4242|restart the tree's root image/);
});
