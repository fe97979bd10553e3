/**
 * POSIX path arithmetic for the start-up path, where loading node:path
 * alone would cost a measurable part of a millisecond. Same results as
 * node:path's posix resolve and dirname for the absolute bases ckpt uses
 * (test/unit/paths.test.ts compares them).
 */

/**
 * `segments` resolved against the absolute `base`, left to right (an
 * absolute segment starts over), with `.`, `..` and repeated or trailing
 * slashes normalised away. No file system access: symlinks stay.
 *
 * @example resolvePath("/home/a", "../b/./c/") // "/home/b/c"
 */
export function resolvePath(base: string, ...segments: string[]): string {
	let joined = base;
	for (const s of segments) if (s !== "") joined = s.startsWith("/") ? s : `${joined}/${s}`;
	const parts: string[] = [];
	for (const p of joined.split("/")) {
		if (p === "" || p === ".") continue;
		if (p === "..") parts.pop();
		else parts.push(p);
	}
	return `/${parts.join("/")}`;
}

/**
 * The directory part of a normalised absolute path.
 *
 * @example parentDir("/a/b.dat") // "/a"
 */
export function parentDir(path: string): string {
	const cut = path.lastIndexOf("/");
	return cut <= 0 ? "/" : path.slice(0, cut);
}
