/**
 * The interactive mode driven through injected streams (no terminal): keys
 * go in, the screen text comes out. Paths that would exec (run, restart)
 * are exercised up to their last prompt only; test/e2e/interactive.test.ts
 * drives the real executable in a pseudo-terminal all the way.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { CancelledError } from "../../src/cli/errors.ts";
import { interactive } from "../../src/interactive/index.ts";
import { intervalProblem, programProblem } from "../../src/interactive/run.ts";
import { imageChoices } from "../../src/interactive/choices.ts";
import { pathProblem } from "../../src/interactive/restart.ts";
import { listImages } from "../../src/image/list.ts";
import { buildImage } from "./image-builder.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-interactive-"));
const STUB = join(import.meta.dir, "../../build/ckpt-restore"); // judges each image
const home = process.cwd();
afterEach(() => process.chdir(home));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = { down: "\x1b[B", enter: "\r", ctrlC: "\x03" };

/** A session on fake streams, with a way to wait for text on its screen. */
function session() {
	const input = new PassThrough();
	let screen = "";
	const output = new Writable({
		write(chunk, _enc, done) {
			screen += chunk.toString();
			done();
		},
	});
	const result = interactive({ input, output }).then(() => "done", (e: unknown) => e);
	return {
		result,
		screen: () => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ""),
		async type(text: string, until?: string) {
			input.write(text);
			const deadline = Date.now() + 20000; // a hang guard only: generous for loaded machines
			while (until !== undefined && !this.screen().includes(until)) {
				if (Date.now() > deadline) throw new Error(`no '${until}' on screen:\n${this.screen()}`);
				await Bun.sleep(5);
			}
		},
	};
}

async function menu(s: ReturnType<typeof session>) {
	await s.type("", "What do you want to do?");
}

test("Ctrl-C at the first prompt: Cancelled", async () => {
	const s = session();
	await menu(s);
	await s.type(KEY.ctrlC);
	expect(await s.result).toBeInstanceOf(CancelledError);
	expect(s.screen()).toContain("Cancelled");
});

test("inspect: pick an image, see its description", async () => {
	writeFileSync(join(dir, "demo.dat"), buildImage());
	writeFileSync(join(dir, "other.txt"), "not an image");
	process.chdir(dir);
	const s = session();
	await menu(s);
	await s.type(KEY.down + KEY.down + KEY.down + KEY.enter, "Image to inspect");
	expect(s.screen()).toMatch(/demo\.dat +demo --count 3 +\S.* +\d+\.\d KiB/);
	expect(s.screen()).not.toContain("other.txt");
	await s.type(KEY.enter);
	expect(await s.result).toBe("done");
	expect(s.screen()).toContain("program    /usr/bin/demo");
	expect(s.screen()).toMatch(/threads \(1\):/);
});

test("restart with no image here: the list says so and offers a typed path, which is checked", async () => {
	const empty = mkdtempSync(join(dir, "empty-"));
	process.chdir(empty);
	const s = session();
	await menu(s);
	await s.type(KEY.down + KEY.down + KEY.enter, "(no ckpt images in "); // the path may wrap
	await s.type(KEY.enter, "or a directory of images");
	await s.type(`${empty}${KEY.enter}`, "no usable ckpt images in ");
	await s.type(KEY.ctrlC);
	expect(await s.result).toBeInstanceOf(CancelledError);
});

test("inspect: a typed directory elsewhere, then one of its images", async () => {
	const there = mkdtempSync(join(dir, "there-"));
	writeFileSync(join(there, "far.dat"), buildImage());
	process.chdir(mkdtempSync(join(dir, "here-")));
	const s = session();
	await menu(s);
	await s.type(KEY.down + KEY.down + KEY.down + KEY.enter, "Another file or directory");
	await s.type(KEY.enter, "or a directory of images");
	await s.type(`${there}${KEY.enter}`, "far.dat");
	await s.type(KEY.enter);
	expect(await s.result).toBe("done");
	expect(s.screen()).toContain("program    /usr/bin/demo");
});

test.skipIf(process.getuid!() !== 0)("restart: another user's image is listed but not offered; inspect still offers it (needs root)", async () => {
	const here = mkdtempSync(join(dir, "theirs-"));
	writeFileSync(join(here, "theirs.dat"), buildImage(), { mode: 0o600 });
	chownSync(join(here, "theirs.dat"), 65534, 65534);
	const images = listImages(here, STUB);
	expect(images[0]!.refusal).toBe("owned by uid 65534, not by you (uid 0); restart only images you created");
	expect(imageChoices(images, Date.now(), true)[0]).toMatchObject({ disabled: true, hint: images[0]!.refusal });
	expect(imageChoices(images, Date.now(), false)[0]!.disabled).toBeUndefined();
	expect(pathProblem(join(here, "theirs.dat"), true, STUB)).toBe(images[0]!.refusal);
	expect(pathProblem(here, true, STUB)).toBe(`no usable ckpt images in ${here}`);
	expect(pathProblem(join(here, "theirs.dat"), false, STUB)).toBeUndefined();
});

test("run: a program that cannot run is refused at the prompt; Ctrl-C there cancels", async () => {
	const s = session();
	await menu(s);
	await s.type(KEY.enter, "Program to run");
	await s.type(`no-such-program-ckpt${KEY.enter}`, "no-such-program-ckpt: command not found");
	await s.type(KEY.ctrlC);
	expect(await s.result).toBeInstanceOf(CancelledError);
});

test("the run prompt's checks are ckpt run's", () => {
	expect(programProblem("")).toMatch(/type a program/);
	expect(programProblem("/bin/sh")).toBeUndefined();
	expect(programProblem("sh")).toBeUndefined();
	expect(programProblem("/")).toBe("/: is a directory");
	expect(programProblem("./missing-here")).toBe("./missing-here: no such file or directory");
});

test("the run prompt's interval is --interval's, and may be left empty", () => {
	expect(intervalProblem("")).toBeUndefined();
	expect(intervalProblem("  ")).toBeUndefined();
	expect(intervalProblem("10m")).toBeUndefined();
	expect(intervalProblem(" 500ms ")).toBeUndefined();
	expect(intervalProblem("10")).toMatch(/^--interval '10': give a number and a unit/);
	expect(intervalProblem("50ms")).toMatch(/the shortest interval is 100ms/);
});
