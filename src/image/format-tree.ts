/**
 * The image format's process trees, version 6, mirrored from
 * c/ckpt_format_tree.h (see format.ts, which re-exports everything here):
 * the root image's member table, one record per other process of the tree
 * (docs/process-trees.md).
 */
import { f, layout } from "./format-layout.ts";

/** The most processes a tree may hold, the root included. */
export const CKPT_MAX_MEMBERS = 1024;
export const CKPT_MEMBER_LIVE = 1;
export const CKPT_MEMBER_ZOMBIE = 2;
export const CKPT_MEMBER_KIND_MAX = CKPT_MEMBER_ZOMBIE;

/** Every constant above, by its C name, for the mirror test (format.ts's C_CONSTANTS takes them). */
export const TREE_C_CONSTANTS: Readonly<Record<string, number>> = {
	CKPT_MAX_MEMBERS, CKPT_MEMBER_LIVE, CKPT_MEMBER_ZOMBIE, CKPT_MEMBER_KIND_MAX,
};

/** A process of the tree other than the root, in tree order (parents before children). */
export const MEMBER = layout("ckpt_member", 72, {
	pid: f(0, "i32"), ppid: f(4, "i32"), pgid: f(8, "i32"), sid: f(12, "i32"),
	kind: f(16, "u32"), wait_status: f(20, "i32"),
	image_id: f(24, "u64"), file_size: f(32, "u64"),
	header_crc: f(40, "u32"), file_str: f(44, "u32"),
	comm: f(48, "char", 16),
	nthreads: f(64, "u32"), pad: f(68, "u32"),
});
