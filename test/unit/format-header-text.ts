/**
 * The text of the image-format contract: c/ckpt_format.h with every local
 * header it includes ("ckpt_format_fds.h"…) spliced in place, so tests that
 * read the enums and structs from the text see the whole format however it
 * is split into files.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const FORMAT_HEADER = resolve(import.meta.dir, "../../c/ckpt_format.h");

export function formatHeaderText(path = FORMAT_HEADER): string {
	return readFileSync(path, "utf8").replace(/^#include\s+"([^"]+)".*$/gm, (_, name: string) =>
		formatHeaderText(join(dirname(path), name)),
	);
}
