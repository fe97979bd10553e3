/** Refusing programs ckpt cannot run, on real files in a temporary directory. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError, RefusedError } from "../../src/cli/errors.ts";
import { checkProgram, resolveProgram, staticallyLinked } from "../../src/process/program.ts";

const dir = mkdtempSync(join(tmpdir(), "ckpt-program-"));
const bin = join(dir, "bin");
const PATH = `${bin}:/usr/bin:/bin`;

// A static program needs a static libc (libc.a); say so rather than fail if it is missing.
writeFileSync(join(dir, "main.c"), "int main(void) { return 0; }\n");
const haveStatic = Bun.spawnSync(["cc", "-static", "-o", join(dir, "static"), join(dir, "main.c")]).exitCode === 0;

beforeAll(() => {
	mkdirSync(bin);
	const script = (name: string, body: string, mode = 0o755) => {
		writeFileSync(join(dir, name), body);
		chmodSync(join(dir, name), mode);
	};
	copyFileSync("/bin/true", join(dir, "dynamic"));
	chmodSync(join(dir, "dynamic"), 0o755);
	// The same program asking for a loader of another name, the same length.
	const bytes = readFileSync("/bin/true");
	const at = bytes.indexOf("ld-linux-x86-64.so.2");
	if (at < 0) throw new Error("/bin/true has no glibc loader name");
	bytes.write("ld-other-x86-64.so.2", at);
	writeFileSync(join(dir, "other-loader"), bytes, { mode: 0o755 });
	copyFileSync("/bin/true", join(dir, "setuid"));
	chmodSync(join(dir, "setuid"), 0o4755);
	copyFileSync("/bin/true", join(dir, "setgid"));
	chmodSync(join(dir, "setgid"), 0o2755);
	copyFileSync("/bin/true", join(dir, "noexec"));
	chmodSync(join(dir, "noexec"), 0o644);
	script("data", "just text\n");
	script("ok.sh", "#!/bin/sh\nexit 0\n");
	script("missing-interp.sh", "#!/nonexistent/interp\n");
	script("static-interp.sh", `#!${join(dir, "static")}\n`);
	script("nested.sh", `#!${join(dir, "ok.sh")}\n`);
	script("env-ok.sh", "#!/usr/bin/env sh\n");
	script("env-missing.sh", "#!/usr/bin/env no-such-interpreter-ckpt\n");
	script("env-static.sh", "#!/usr/bin/env static-tool\n");
	copyFileSync(join(dir, "dynamic"), join(bin, "mytool"));
	chmodSync(join(bin, "mytool"), 0o755);
	writeFileSync(join(bin, "notexec"), "");
	if (haveStatic) {
		copyFileSync(join(dir, "static"), join(bin, "static-tool"));
		chmodSync(join(bin, "static-tool"), 0o755);
	}
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problem(name: string): Error | null {
	try {
		checkProgram(join(dir, name), `./${name}`, PATH, dir);
		return null;
	} catch (e) {
		return e as Error;
	}
}

test("resolving like execvp", () => {
	expect(resolveProgram("mytool", PATH, dir)).toBe(join(bin, "mytool"));
	expect(resolveProgram("./dynamic", PATH, dir)).toBe(join(dir, "dynamic"));
	expect(resolveProgram("sh", PATH, dir)).toMatch(/\/sh$/);
	expect(() => resolveProgram("no-such-tool-ckpt", PATH, dir)).toThrow(NotFoundError);
	expect(() => resolveProgram("no-such-tool-ckpt", PATH, dir)).toThrow("no-such-tool-ckpt: command not found");
	expect(() => resolveProgram("notexec", bin, dir)).toThrow(RefusedError);
});

test("dynamic programs and scripts with dynamic interpreters are accepted", () => {
	for (const ok of ["dynamic", "ok.sh", "nested.sh", "env-ok.sh"]) expect(`${ok}: ${problem(ok)}`).toBe(`${ok}: null`);
});

test("the libc whose loader starts it: a program's, a script's interpreter's", () => {
	expect(checkProgram(join(dir, "dynamic"), "./dynamic", PATH, dir)).toBe("glibc");
	expect(checkProgram(join(dir, "ok.sh"), "./ok.sh", PATH, dir)).toBe("glibc");
	const musl = join(import.meta.dir, "../../build/fixtures/count-musl");
	if (existsSync(musl)) expect(checkProgram(musl, "count-musl", PATH, dir)).toBe("musl");
	else console.warn("program.test.ts: no musl fixture built (no musl-gcc); its musl check is skipped");
});

test("a loader that is neither glibc's nor musl's is refused, saying what would work", () => {
	const e = problem("other-loader");
	expect(e).toBeInstanceOf(RefusedError);
	expect(e?.message).toMatch(/^\.\/other-loader: its loader \S*\/ld-other-x86-64\.so\.2 is neither glibc's nor musl's; ckpt preloads itself through one of those, so it needs a program linked with glibc or musl$/);
});

test("a missing program is 'not found'", () => {
	const e = problem("nope");
	expect(e).toBeInstanceOf(NotFoundError);
	expect(e?.message).toBe("./nope: no such file or directory");
});

test("refusals name the reason", () => {
	const cases: [string, RegExp][] = [
		["", /is a directory/],
		["noexec", /permission denied \(not executable\)/],
		["setuid", /is setuid; the dynamic loader ignores LD_PRELOAD/],
		["setgid", /is setgid/],
		["data", /not an ELF executable or a #! script/],
		["missing-interp.sh", /bad interpreter \/nonexistent\/interp: no such file or directory/],
		["env-missing.sh", /no-such-interpreter-ckpt not found on PATH/],
	];
	for (const [name, why] of cases) {
		const e = problem(name);
		expect(e).toBeInstanceOf(RefusedError);
		expect(e?.message).toMatch(why);
	}
});

test.skipIf(!haveStatic)("static programs, directly or as interpreters, are refused", () => {
	for (const name of ["static", "static-interp.sh", "env-static.sh"]) {
		const e = problem(name);
		expect(e).toBeInstanceOf(RefusedError);
		expect(e?.message).toMatch(/statically linked/);
	}
});

test.skipIf(!haveStatic)("a running program's exe: static only without a loader and when it is no loader run by name; a script or a missing file is not", () => {
	expect(staticallyLinked(join(dir, "static"), join(dir, "static"))).toBe(true);
	expect(staticallyLinked(join(dir, "dynamic"), join(dir, "dynamic"))).toBe(false);
	expect(staticallyLinked(join(dir, "static-interp.sh"), join(dir, "static-interp.sh"))).toBe(false);
	expect(staticallyLinked(join(dir, "missing"), join(dir, "missing"))).toBe(false);
	// glibc's loader has no loader of its own, yet `ld-linux-x86-64.so.2 ./prog` preloads libckpt.
	expect(staticallyLinked("/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2")).toBe(false);
	expect(staticallyLinked(join(dir, "static"), "/lib64/ld-linux-x86-64.so.2")).toBe(false);
});
