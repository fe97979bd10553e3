/**
 * Process trees in the reader (version 6): a root image's member table and
 * each descriptor's first holder, accepted when they make sense and refused
 * one rule at a time, in the restore stub's words (its check_member_table).
 */
import { expect, test } from "bun:test";
import {
	CKPT_FD_FILE, CKPT_FD_INHERIT, CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE, CKPT_FD_EVENTFD, CKPT_FD_EPOLL, CKPT_FD_INOTIFY, CKPT_FD_INET_SOCKET,
	CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_UNIX_SOCKET, CKPT_MAX_MEMBERS, CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE, CKPT_SOCK_BOUND,
	CKPT_SOCK_CONNECTED, CKPT_SOCK_LISTEN, CKPT_SOCK_PAIR, CKPT_SOCK_PEER_CLOSED, CKPT_SOCK_UNBOUND, HEADER, MEMBER,
} from "../../src/image/format.ts";
import { FD_KINDS } from "../../src/image/kinds.ts";
import { readImage } from "../../src/image/read.ts";
import type { Fd } from "../../src/image/types.ts";
import { buildImage, defaultSpec, type FdSpec, type MemberSpec, poke, recordOffset, TREE_ID, type TreeSpec } from "./image-builder.ts";
import { imageFiles } from "./image-files.ts";

const { write, failure } = imageFiles("ckpt-tree-image-");

const LIVE = CKPT_MEMBER_LIVE, ZOMBIE = CKPT_MEMBER_ZOMBIE;

/** Root 4242 (its own group and session): two workers, one of them with a child of its own, and a zombie. */
const members = (): MemberSpec[] => [
	{ pid: 4300, ppid: 4242, kind: LIVE, comm: "worker-a", nthreads: 2 },
	{ pid: 4301, ppid: 4242, kind: ZOMBIE, waitStatus: 3 << 8, comm: "done" },
	{ pid: 4302, ppid: 4242, kind: LIVE, pgid: 4302, comm: "worker-b" },
	{ pid: 4400, ppid: 4300, kind: LIVE, comm: "grandchild" },
];

function treeImage(change: (t: TreeSpec & { members: MemberSpec[] }) => void = () => {}, fds?: FdSpec[]) {
	const spec = defaultSpec();
	const tree = { pgid: 4242, sid: 4242, members: members() };
	change(tree);
	spec.tree = tree;
	if (fds) spec.fds = fds;
	return buildImage(spec);
}


test("a root image's member table reads, parents before children, with each process's group and session", () => {
	const img = readImage(write(treeImage()));
	expect(img.header).toMatchObject({ pgid: 4242, sid: 4242, treeRootPid: 4242, nmembers: 4, treeId: TREE_ID });
	expect(img.members.map((m) => [m.pid, m.ppid, m.pgid, m.kind, m.comm])).toEqual([
		[4300, 4242, 4242, LIVE, "worker-a"], [4301, 4242, 4242, ZOMBIE, "done"],
		[4302, 4242, 4302, LIVE, "worker-b"], [4400, 4300, 4242, LIVE, "grandchild"],
	]);
	expect(img.members[0]!.file).toBe("img.dat.00000000000000a1.4300");
	expect(img.members[1]).toMatchObject({ file: "", waitStatus: 3 << 8, imageId: 0n, nthreads: 0 });
});

test("a single process's image has no members, and a member image names its tree without a table", () => {
	expect(readImage(write(buildImage())).members).toEqual([]);
	const spec = defaultSpec();
	spec.tree = { pgid: 4000, sid: 4000, treeId: 0x77n, rootPid: 4000 };
	const img = readImage(write(buildImage(spec)));
	expect(img.members).toEqual([]);
	expect(img.header).toMatchObject({ treeId: 0x77n, treeRootPid: 4000, nmembers: 0 });
});

test("the member table is refused one rule at a time, as the stub refuses it", () => {
	const refused = (change: (t: TreeSpec & { members: MemberSpec[] }) => void) => failure(treeImage(change));
	const m = (i: number) => (t: { members: MemberSpec[] }) => t.members[i]!;
	expect(refused((t) => (m(0)(t).kind = 3))).toBe("the member table's pid 4300 has an unknown kind (corrupt image)");
	expect(refused((t) => (m(0)(t).kind = 0))).toBe("the member table's pid 4300 has an unknown kind (corrupt image)");
	for (const pid of [4242, 1, 0, -5])
		expect(refused((t) => (m(0)(t).pid = pid))).toBe(`the member table's pid ${pid} is not a pid of its own in the tree (corrupt image)`);
	expect(refused((t) => (m(2)(t).pid = 4300))).toBe("the member table's pid 4300 is not a pid of its own in the tree (corrupt image)");
	// a child before its parent, a parent outside the tree, a zombie parent
	expect(refused((t) => (m(0)(t).ppid = 4400))).toContain("pid 4300 has a parent that is neither the root nor a live member before it");
	expect(refused((t) => (m(0)(t).ppid = 9999))).toContain("pid 4300 has a parent that is neither the root nor a live member before it");
	expect(refused((t) => (m(3)(t).ppid = 4301))).toContain("pid 4400 has a parent that is neither the root nor a live member before it");
	expect(refused((t) => (m(0)(t).sid = 7))).toBe("the member table's pid 4300 is in a session it neither leads nor got from its parent (corrupt image)");
	expect(refused((t) => (m(0)(t).pgid = 4400))).toBe(
		"the member table's pid 4300 is in a process group no process of its session in the tree leads (corrupt image)");
	// the root's group, but a session of its own
	expect(refused((t) => (m(0)(t).sid = 4300))).toBe("the member table's pid 4300 is in the root's process group but not in its session (corrupt image)");
	expect(refused((t) => (m(1)(t).waitStatus = 6 | 0x80))).toBe(
		"the member table's pid 4301 is a zombie that dumped core: a restart cannot end a process that way again");
	for (const ws of [0x7f, 19, 17, 3 << 8 | 1, 1 << 16])
		expect(refused((t) => (m(1)(t).waitStatus = ws))).toBe("the member table's pid 4301 has an impossible exit status (corrupt image)");
	expect(refused((t) => (m(1)(t).file = "x"))).toBe("the member table's pid 4301 is a zombie with an image (corrupt image)");
	expect(refused((t) => (m(1)(t).imageId = 5n))).toBe("the member table's pid 4301 is a zombie with an image (corrupt image)");
	for (const file of ["../img.dat.1", "sub/img", ".", ".."])
		expect(refused((t) => (m(0)(t).file = file))).toBe(
			"the member table's pid 4300 has an image file name that is not a plain file name (corrupt image)");
	for (const bad of [{ imageId: 0n }, { fileSize: 100n }, { nthreads: 0 }, { nthreads: 65537 }])
		expect(refused((t) => Object.assign(m(0)(t), bad))).toBe("the member table's pid 4300 has image fields out of range (corrupt image)");
	expect(refused((t) => (t.ttyPgrp = 4400))).toBe("the terminal's foreground group is no group of the tree (corrupt image)");
	expect(refused((t) => (t.treeId = 5n))).toBe("process tree fields are inconsistent (corrupt image)");
	expect(refused((t) => (t.rootPid = 4300))).toBe("process tree fields are inconsistent (corrupt image)");
});

test("a group led by a member later in the table, and the terminal given to a member's group, are fine", () => {
	const img = readImage(write(treeImage((t) => {
		t.members[0]!.pgid = 4302; // worker-a joined worker-b's group
		t.ttyPgrp = 4302;
	})));
	expect(img.members[0]!.pgid).toBe(4302);
	expect(img.header.ttyPgrp).toBe(4302);
});

test("counts beyond the tables, or beyond the most members a tree may have, are refused", () => {
	const img = treeImage();
	expect(failure(poke(img.slice(), HEADER, 0, "nmembers", 1000))).toMatch(/^member table \(1000 x 72 bytes at \d+\) does not fit the tables/);
	expect(failure(poke(img.slice(), HEADER, 0, "members_off", 3))).toMatch(/^member table \(4 x 72 bytes at 3\) does not fit/);
	// the root and CKPT_MAX_MEMBERS - 1 others at most
	const many = (count: number) => treeImage((t) => {
		t.members = Array.from({ length: count }, (_, i) => ({ pid: 5000 + i, ppid: 4242, kind: LIVE }));
	});
	expect(readImage(write(many(CKPT_MAX_MEMBERS - 1))).members.length).toBe(CKPT_MAX_MEMBERS - 1);
	expect(failure(many(CKPT_MAX_MEMBERS))).toBe("process tree fields are inconsistent (corrupt image)");
	// the table's bytes, poked one record at a time: the same refusals as built
	expect(failure(poke(img.slice(), MEMBER, recordOffset(img, "members", 2), "ppid", 4301))).toContain("pid 4302 has a parent that is neither");
});

test("an fd's first holder in the tree: another process, a kind a tree may share, both fields or neither", () => {
	// This image is pid 4242, a member of the tree of pid 4000: its stdin is the root's.
	const fds = (share: [number, number], kind = CKPT_FD_FILE): FdSpec[] => [
		{ fd: 0, kind: CKPT_FD_INHERIT, share: [4000, 0] },
		{ fd: 3, kind, path: "/tmp/out.txt", share },
		{ fd: 4, kind: CKPT_FD_FILE, path: "/tmp/own.txt" },
	];
	const spec = defaultSpec();
	spec.fds = fds([4000, 7]);
	expect(readImage(write(buildImage(spec))).fds.map((f) => f.firstHolder)).toEqual([{ pid: 4000, fd: 0 }, { pid: 4000, fd: 7 }, null]);
	for (const kind of [CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE]) {
		spec.fds = fds([4000, 7], kind);
		expect(readImage(write(buildImage(spec))).fds[1]!.firstHolder).toEqual({ pid: 4000, fd: 7 });
	}
	const refused = (share: [number, number], kind = CKPT_FD_FILE) => {
		spec.fds = fds(share, kind);
		return failure(buildImage(spec));
	};
	expect(refused([0, 5])).toBe("fd 3: shares an open file with pid 0 fd 5, which it cannot (corrupt image)");
	expect(refused([-1, 5])).toBe("fd 3: shares an open file with pid -1 fd 5, which it cannot (corrupt image)");
	expect(refused([4000, -1])).toBe("fd 3: shares an open file with pid 4000 fd -1, which it cannot (corrupt image)");
	expect(refused([4000, 70000])).toBe("fd 3: shares an open file with pid 4000 fd 70000, which it cannot (corrupt image)");
	// its own pid: a dup within one process is shares_with, not this
	expect(refused([4242, 5])).toBe("fd 3: shares an open file with pid 4242 fd 5, which it cannot (corrupt image)");
	// kinds a tree's restart makes once from the first holder's record (an epoll empty, its watches
	// in the first holder's image); an inotify's watches name its holder's fds
	for (const kind of [CKPT_FD_EVENTFD, CKPT_FD_SIGNALFD, CKPT_FD_TIMERFD, CKPT_FD_EPOLL]) {
		spec.fds = fds([4000, 7], kind);
		expect(readImage(write(buildImage(spec))).fds[1]!.firstHolder).toEqual({ pid: 4000, fd: 7 });
	}
	expect(refused([4000, 5], CKPT_FD_INOTIFY)).toBe("fd 3: shares an open file with pid 4000 fd 5, which it cannot (corrupt image)");
	// sockets by state: a connection that comes back closed by its peer is no one socket for several processes
	const socket = (kind: number, state: number) => FD_KINDS.of(kind)!.sharedInTree({ kind, socket: { state } } as Fd);
	for (const kind of [CKPT_FD_INET_SOCKET, CKPT_FD_UNIX_SOCKET]) {
		expect([CKPT_SOCK_UNBOUND, CKPT_SOCK_BOUND, CKPT_SOCK_LISTEN, CKPT_SOCK_CONNECTED].map((s) => socket(kind, s))).toEqual([true, true, true, true]);
		expect(socket(kind, CKPT_SOCK_PEER_CLOSED)).toBe(false);
	}
	expect(socket(CKPT_FD_UNIX_SOCKET, CKPT_SOCK_PAIR)).toBe(true);
});
