/**
 * Which image a command means when it is not told: $CKPT_IMAGE, else
 * ./myckpt.dat. One rule for run, restart, run-or-restart and info, so
 * they always agree on where the last checkpoint went.
 */
import { resolvePath } from "../process/paths.ts";
import { CKPT_ENV_IMAGE } from "./protocol.ts";

export const DEFAULT_IMAGE = "myckpt.dat";

/** `named` (an argument or --image), else $CKPT_IMAGE, else myckpt.dat, as given: relative stays relative. */
export function imageName(named: string | undefined, env: Record<string, string | undefined>): string {
	return named || env[CKPT_ENV_IMAGE] || DEFAULT_IMAGE;
}

/** imageName() made absolute (relative to `cwd`): libckpt and the stub may run elsewhere. */
export function imagePath(named: string | undefined, env: Record<string, string | undefined>, cwd: string): string {
	return resolvePath(cwd, imageName(named, env));
}

/** The image `info` reads when none is named, as the user would type it (ckpt info prints it back). */
export function defaultImage(): string {
	return imageName(undefined, process.env);
}
