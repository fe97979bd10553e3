/**
 * The kinds of failure ckpt reports. Each carries a one-line, human message;
 * src/cli.ts alone decides the exit code for each kind, so the mapping lives
 * in one place.
 */

/** Bad options or arguments: exit 2. */
export class UsageError extends Error {
	override name = "UsageError";
}

/** PROGRAM does not exist (or is not on PATH): exit 127, like a shell. */
export class NotFoundError extends Error {
	override name = "NotFoundError";
}

/** PROGRAM exists but cannot be run under ckpt (static, setuid, ...): exit 126. */
export class RefusedError extends Error {
	override name = "RefusedError";
}

/** An image that is unreadable, corrupt, or cannot be restored here: exit 1. */
export class ImageError extends Error {
	override name = "ImageError";
}

/** Any other failure at run time (exec failed, cache unusable): exit 1. */
export class RuntimeError extends Error {
	override name = "RuntimeError";
}

/** Ctrl-C at an interactive prompt: what a shell reports for a SIGINT death (128 + 2). */
export const EXIT_CANCELLED = 130;

/** The user cancelled an interactive prompt (Ctrl-C, Escape): exit EXIT_CANCELLED. */
export class CancelledError extends Error {
	override name = "CancelledError";
}

/**
 * A failure the interactive mode has already shown on screen: `cause`
 * still decides the exit code, but nothing more is printed.
 */
export class ShownError extends Error {
	override name = "ShownError";
}
