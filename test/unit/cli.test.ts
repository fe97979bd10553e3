/**
 * The command line from the outside: `bun src/cli.ts` in a fresh temporary
 * directory, checking exit codes, one-line errors, and that running a
 * program really replaces ckpt in place (same pid) with the right state.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CLI = resolve(import.meta.dir, "../../src/cli.ts");
const dir = mkdtempSync(join(tmpdir(), "ckpt-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Keep extraction out of the user's real cache.
const env = { ...process.env, XDG_CACHE_HOME: join(dir, "cache"), CKPT_IMAGE: "" };

function ckpt(args: string[], opts: { cwd?: string } = {}) {
	const p = Bun.spawnSync([process.execPath, CLI, ...args], { cwd: opts.cwd ?? dir, env, stdin: "ignore", timeout: 30_000 });
	return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString(), pid: p.pid };
}

function expectOneLineError(r: ReturnType<typeof ckpt>, code: number, pattern: RegExp) {
	expect(r.code).toBe(code);
	expect(r.err).toMatch(/^ckpt: [^\n]*\n$/);
	expect(r.err).toMatch(pattern);
}

test("--help lists commands and exit codes", () => {
	const r = ckpt(["--help"]);
	expect(r.code).toBe(0);
	for (const word of ["restart", "info", "--continue", "--drop-unsupported-fds", "Exit status", "85", "126", "127"])
		expect(r.out).toContain(word);
	expect(ckpt(["info", "--help"]).out).toContain("--verify");
	expect(ckpt(["restart", "--help"]).code).toBe(0);
});

test("--version", () => {
	const r = ckpt(["--version"]);
	expect(r.code).toBe(0);
	expect(r.out).toMatch(/^ckpt \d+\.\d+\.\d+\n$/);
});

test("no arguments without a terminal: help, exit 2", () => {
	const r = ckpt([]);
	expect(r.code).toBe(2);
	expect(r.out).toContain("Usage");
});

test("usage errors exit 2", () => {
	expectOneLineError(ckpt(["--bogus", "/bin/true"]), 2, /Unknown option `--bogus`/);
	expectOneLineError(ckpt(["--signal", "KILL", "/bin/true"]), 2, /SIGKILL cannot be caught/);
	expectOneLineError(ckpt(["--continue"]), 2, /missing PROGRAM/);
	expectOneLineError(ckpt(["--image", "/no/such/dir/x.dat", "/bin/true"]), 2, /image directory \/no\/such\/dir does not exist/);
});

test("image errors exit 1", () => {
	expectOneLineError(ckpt(["info", "/nonexistent.dat"]), 1, /^ckpt: \/nonexistent\.dat: cannot open \(no such file\)$/m);
	writeFileSync(join(dir, "junk.dat"), "junk");
	expectOneLineError(ckpt(["info", "junk.dat"]), 1, /^ckpt: junk\.dat: not a ckpt image \(bad magic\)$/m);
	expectOneLineError(ckpt(["restart", "junk.dat"]), 1, /bad magic/);
	expectOneLineError(ckpt(["restart"]), 1, new RegExp(`^ckpt: cannot restart ${join(dir, "myckpt.dat")}: No such file or directory$`, "m"));
	// A flag before the image: read without cac, and by cac (one positional too many sends the line there).
	for (const flag of ["--new-pid", "--ignore-affinity", "--lazy"]) {
		expectOneLineError(ckpt(["restart", flag, "junk.dat"]), 1, /bad magic/);
		expectOneLineError(ckpt(["restart", flag, "junk.dat", "extra"]), 2, /unexpected argument 'extra'/);
	}
	// After `--`, still the image (cac keeps those apart): once, `restart -- junk.dat` restarted ./myckpt.dat.
	expectOneLineError(ckpt(["restart", "--", "junk.dat"]), 1, /junk\.dat: not a ckpt image \(bad magic\)/);
	expectOneLineError(ckpt(["info", "--", "junk.dat"]), 1, /bad magic/);
});

test("programs that cannot run under ckpt are refused before anything runs", () => {
	mkdirSync(join(dir, "d"), { recursive: true });
	copyFileSync("/bin/true", join(dir, "suid"));
	chmodSync(join(dir, "suid"), 0o4755);
	writeFileSync(join(dir, "bad.sh"), "#!/no/such/interpreter\n");
	chmodSync(join(dir, "bad.sh"), 0o755);
	writeFileSync(join(dir, "main.c"), "int main(void) { return 0; }\n");
	const cc = Bun.spawnSync(["cc", "-static", "-o", join(dir, "static"), join(dir, "main.c")]);

	expectOneLineError(ckpt(["no-such-program-ckpt"]), 127, /no-such-program-ckpt: command not found/);
	expectOneLineError(ckpt(["./missing"]), 127, /\.\/missing: no such file or directory/);
	expectOneLineError(ckpt(["./d"]), 126, /\.\/d: is a directory/);
	expectOneLineError(ckpt(["./suid"]), 126, /is setuid/);
	expectOneLineError(ckpt(["./bad.sh"]), 126, /bad interpreter \/no\/such\/interpreter/);
	if (cc.exitCode === 0) expectOneLineError(ckpt(["./static"]), 126, /\.\/static: statically linked/);
});

test("the program replaces ckpt in place, with ckpt's settings and a clean process state", () => {
	const script = [
		"echo pid=$$",
		"tr '\\0' '\\n' < /proc/$$/environ | grep -E '^(CKPT_|LD_PRELOAD=)' | sort",
		"head -c 200 /proc/$$/cmdline | tr '\\0' ' '; echo",
		// The shell's masks as grep inherits them by exec: reading the shell's
		// status while it waits races dash, which blocks every signal between
		// wait3 and sigsuspend.
		"exec grep -E '^Sig(Ign|Blk)' /proc/self/status",
	].join("; ");
	const r = ckpt(["--continue", "--signal", "USR1", "--image", "sub.dat", "sh", "-c", script, "-u"]);
	expect(r.code).toBe(0);
	expect(r.out).toContain(`pid=${r.pid}\n`);
	expect(r.out).toContain(`CKPT_IMAGE=${join(dir, "sub.dat")}\n`);
	expect(r.out).toContain("CKPT_SIGNAL=10\n");
	expect(r.out).toContain("CKPT_CONTINUE=1\n");
	expect(r.out).toContain("CKPT_SIGNAL_BLOCKED=1\n");
	expect(r.out).toMatch(/^LD_PRELOAD=\/.*\/ckpt\/[0-9a-f]{16}\/libckpt\.so$/m);
	expect(r.out).toContain(`sh -c ${script} -u \n`); // argv[0] as typed, args verbatim
	const ignored = BigInt(`0x${r.out.match(/^SigIgn:\s+([0-9a-f]+)$/m)![1]}`);
	expect(ignored & (1n << 12n)).toBe(0n); // SIGPIPE back to default
	expect(ignored & (1n << 24n)).toBe(0n); // SIGXFSZ back to default
	// Only the checkpoint signal may be blocked (libckpt unblocks it once its handler is in).
	const blocked = BigInt(`0x${r.out.match(/^SigBlk:\s+([0-9a-f]+)$/m)![1]}`);
	expect(blocked & ~(1n << 9n)).toBe(0n);
});

test("the open-files soft limit is the parent's again, not Bun's raised one", () => {
	const inner = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} sh -c 'ulimit -Sn'`;
	const p = Bun.spawnSync(["sh", "-c", `ulimit -Sn 256 && ${inner}; true`], { cwd: dir, env, timeout: 30_000 });
	expect(p.stdout.toString().trim()).toBe("256");
});

test("a mistyped command that is no program: did you mean; a real program named so still runs", () => {
	expectOneLineError(ckpt(["restrat"]), 127, /^ckpt: restrat: command not found; did you mean `ckpt restart`\?\n$/);
	expectOneLineError(ckpt(["chekpoint", "1"]), 127, /did you mean `ckpt checkpoint`\?/);
	expectOneLineError(ckpt(["no-such-program-ckpt"]), 127, /^ckpt: no-such-program-ckpt: command not found\n$/);
	mkdirSync(join(dir, "bin"), { recursive: true });
	copyFileSync("/bin/echo", join(dir, "bin", "lst"));
	const p = Bun.spawnSync([process.execPath, CLI, "lst", "ok"], { cwd: dir, env: { ...env, PATH: `${join(dir, "bin")}:${process.env.PATH}` } });
	expect(p.stdout.toString()).toBe("ok\n");
});

test("extra arguments to a command are refused, not ignored", () => {
	expectOneLineError(ckpt(["info", "x.dat", "extra"]), 2, /^ckpt: unexpected argument 'extra' \(see 'ckpt info --help'\)\n$/);
	expectOneLineError(ckpt(["checkpoint", "1", "2"]), 2, /unexpected argument '2'/);
	expectOneLineError(ckpt(["list", ".", "more"]), 2, /unexpected argument 'more'/);
});

test("--version and the help header say the same", () => {
	expect(ckpt(["--version"]).out).toMatch(/^ckpt \d+\.\d+\.\d+\n$/);
	expect(ckpt(["--help"]).out.split("\n")[0]).toBe(ckpt(["--version"]).out.trim());
	expect(ckpt(["info", "--help"]).out.split("\n")[0]).toBe(ckpt(["--version"]).out.trim());
});

test.skipIf(process.getuid!() !== 0)("list: an image the restart would refuse (another user's, group-writable) is shown unusable, with the stub's reason (needs root)", async () => {
	const { buildImage } = await import("./image-builder.ts");
	const { chownSync } = await import("node:fs");
	const here = join(dir, "refused");
	mkdirSync(here, { recursive: true });
	writeFileSync(join(here, "theirs.dat"), buildImage(), { mode: 0o600 });
	chownSync(join(here, "theirs.dat"), 65534, 65534);
	writeFileSync(join(here, "open.dat"), buildImage(), { mode: 0o600 });
	chmodSync(join(here, "open.dat"), 0o666);
	writeFileSync(join(here, "mine.dat"), buildImage(), { mode: 0o600 });
	const r = ckpt(["list", here]);
	expect(r.code).toBe(0);
	expect(r.out).toMatch(/^theirs\.dat .* unusable: owned by uid 65534, not by you \(uid 0\); restart only images you created$/m);
	expect(r.out).toMatch(/^open\.dat .* unusable: writable by group or others, so it could have been altered; run: chmod 600 .*open\.dat$/m);
	expect(r.out).toMatch(/^mine\.dat .* demo --count 3$/m);
});
