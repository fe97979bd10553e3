// The process settings of an image (struct ckpt_process_state) as `ckpt
// info` and `--json` show them, and the reader's refusal of a group count
// that does not match the group list.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CKPT_UNKNOWN, HEADER, PROCESS_STATE } from "../../src/image/format.ts";
import { readImage } from "../../src/image/read.ts";
import { infoJson } from "../../src/image/json.ts";
import { renderInfo } from "../../src/image/render.ts";
import { credentialsText, dumpableText, personalityText } from "../../src/image/facts.ts";
import type { Thread } from "../../src/image/types.ts";
import { buildImage, poke } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-info-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withProcess(fields: Record<string, number>) {
	const img = buildImage();
	for (const [k, v] of Object.entries(fields)) poke(img, PROCESS_STATE, HEADER.fields.process.off, k, v);
	const p = join(dir, `img-${Math.random().toString(36).slice(2)}.dat`);
	writeFileSync(p, img);
	return p;
}

test("every setting is shown, with what must match and what is not carried", () => {
	const image = readImage(withProcess({ umask: 0o27, thp_disable: 3, no_new_privs: 1, child_subreaper: 1,
		oom_score_adj: -17, membarrier: (1 << 2) | (1 << 4), loginuid: CKPT_UNKNOWN }));
	const text = renderInfo(image, 0);
	expect(text).toContain([
		"process settings:",
		"  umask                   0027",
		"  personality             linux",
		"  deny write+exec         off",
		"  transparent huge pages  disabled except where madvised",
		"  no_new_privs            set",
		"  credentials             uid 0, gid 0, no capabilities, bounding 0x0",
		"  dumpable                no (PR_SET_DUMPABLE 0: no core dumps, not traceable by its user)",
		"  coredump filter         0x0",
		"  child subreaper         yes",
		"  oom_score_adj           -17",
		"  membarrier              global-expedited, private-expedited",
		"  login uid               unset (must match at restart)",
		"  groups                  none (must match at restart, or be settable: CAP_SETGID)",
		"  cgroup                  unknown (not carried: the restart's own applies)",
	].join("\n"));
	expect(infoJson(image).process).toEqual({ umask: "0027", personality: 0, mdwe: 0, dumpable: 0, coredumpFilter: 0, thpDisable: 3, noNewPrivs: true, childSubreaper: true,
		oomScoreAdj: -17, membarrier: ["global-expedited", "private-expedited"], loginUid: null, groups: [], cgroup: "" });
});

test("credentials are shown in one line, ids by role where they differ; dumpable in words", () => {
	const creds = { uids: [0, 0, 0, 0], gids: [0, 0, 0, 0], effective: 0x1fffedfffffn, permitted: 0x1fffedfffffn, inheritable: 0x400n,
		bounding: 0x1fffeffdfffn, ambient: 0x400n, securebits: 0x10, pad: 0 };
	const thread = (c: Partial<typeof creds>) => ({ creds: { ...creds, ...c } }) as unknown as Thread;
	expect(credentialsText([thread({})])).toBe("uid 0, gid 0, capabilities 0x1fffedfffff effective, 0x1fffedfffff permitted, " +
		"bounding 0x1fffeffdfff, inheritable 0x400, ambient 0x400, securebits 0x10");
	expect(credentialsText([thread({ uids: [65534, 0, 0, 0], permitted: 0n, effective: 0n, inheritable: 0n, ambient: 0n, securebits: 0 }), thread({})]))
		.toBe("uids 65534/0/0/0 (real/effective/saved/fs), gid 0, no capabilities, bounding 0x1fffeffdfff; other threads differ (--json)");
	expect([0, 1, 2].map(dumpableText)).toEqual(["no (PR_SET_DUMPABLE 0: no core dumps, not traceable by its user)", "yes",
		"suidsafe (2, after an id change)"]);
});

test("a personality is named as setarch names its flags, an unknown bit in hex", () => {
	expect(personalityText(0)).toBe("linux");
	expect(personalityText(0x0040000)).toBe("linux, ADDR_NO_RANDOMIZE");
	expect(personalityText(0x0400008 | 0x10000000)).toBe("domain 0x8, READ_IMPLIES_EXEC, 0x10000000");
});

test("membarrier registrations a kernel before 6.3 could not report are shown as unknown", () => {
	const image = readImage(withProcess({ membarrier: CKPT_UNKNOWN, loginuid: 1000 }));
	expect(renderInfo(image, 0)).toContain("  membarrier              unknown (kernel before 6.3)");
	expect(renderInfo(image, 0)).toContain("  login uid               1000 (must match at restart)");
	expect(infoJson(image).process.membarrier).toBeNull();
});

test("a group count that does not match the group list is a corrupt image", () => {
	expect(() => readImage(withProcess({ ngroups: 2 }))).toThrow('supplementary groups "" do not match their count 2 (corrupt image)');
});
