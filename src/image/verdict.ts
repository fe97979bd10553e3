/**
 * The restore stub's verdict on an image: the one authority on whether an
 * image is acceptable. `ckpt-restore --check IMAGE` runs the checks a
 * restart makes of the header and tables, `--verify` also checks every
 * stored byte against its checksum (c/stub/check_only.c); silence and exit
 * 0 mean a restart would accept the image, else its one refusal line is
 * the restart's own. The TypeScript reader (read.ts) decodes for display
 * and refuses the same images, which test/e2e/verify-agreement.test.ts
 * holds it to; where a verdict is the point (`ckpt list`, `ckpt info
 * --verify`) it is asked of the stub.
 */
import { RuntimeError } from "../cli/errors.ts";
import { CKPT_STUB_CHECK, CKPT_STUB_VERIFY } from "../protocol/protocol.ts";

/** "tables": header and tables, cheap; "data": also every stored byte. */
export type CheckDepth = "tables" | "data";

/**
 * Why a restart would refuse the image at `path` (the stub's words, without
 * its "ckpt: cannot restart PATH: " prefix), or undefined if it would
 * accept it. Ownership and the world (files, machine) are not judged: they
 * are about restarting here and now, not about the image.
 *
 * @example imageRefusal(stub, "run1.dat", "tables") // "header checksum mismatch (corrupt image)"
 */
export function imageRefusal(stub: string, path: string, depth: CheckDepth): string | undefined {
	const run = Bun.spawnSync([stub, depth === "data" ? CKPT_STUB_VERIFY : CKPT_STUB_CHECK, path], {
		stdin: "ignore", stdout: "ignore", stderr: "pipe",
	});
	const err = run.stderr.toString();
	if (run.exitCode === 0 && err === "") return undefined;
	const prefix = `ckpt: cannot restart ${path}: `;
	if (run.exitCode === 1 && err.startsWith(prefix) && err.indexOf("\n") === err.length - 1)
		return err.slice(prefix.length, -1);
	const how = run.signalCode ? `signal ${run.signalCode}` : `exit ${run.exitCode}`;
	throw new RuntimeError(`the restore stub could not check ${path} (${how}): ${err.trim() || "no message"}`);
}
