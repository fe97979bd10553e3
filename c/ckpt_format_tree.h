/*
 * ckpt image format, process trees (version 6): part of c/ckpt_format.h
 * (which includes it; include that, never this). Same rules: src/image/
 * format.ts mirrors it field by field, and a change bumps CKPT_VERSION.
 *
 * A tree's checkpoint is one image per process (docs/process-trees.md):
 * the root's (the launched process) at the image path, and each other
 * live member's beside it, named "<root image file name>.<tree_id as 16
 * lower-case hex digits>.<pid>". The root image, written and linked last,
 * is the commit: its member table names every other process, and the
 * image id, size and header checksum of each member image, so a restart
 * takes exactly the files that checkpoint wrote, or refuses.
 */
#ifndef CKPT_FORMAT_TREE_H
#define CKPT_FORMAT_TREE_H

#include <stdint.h>

/* The most processes a tree may hold, the root included. */
#define CKPT_MAX_MEMBERS 1024

enum ckpt_member_kind {
	CKPT_MEMBER_LIVE = 1,   /* running: restored from its own image */
	CKPT_MEMBER_ZOMBIE = 2, /* exited, not yet waited for: made again, then exits
				 * with wait_status for its parent to collect */
};
#define CKPT_MEMBER_KIND_MAX CKPT_MEMBER_ZOMBIE

/* One process of the tree other than the root, in tree order: breadth
 * first from the root, children by ascending pid, so a parent always comes
 * before its children. */
struct ckpt_member {
	int32_t pid, ppid;           /* ppid: the root's or an earlier member's pid */
	int32_t pgid, sid;
	uint32_t kind;               /* enum ckpt_member_kind */
	int32_t wait_status;         /* ZOMBIE: the status wait4 reports (exit code << 8,
				      * or the signal, 0x80 for a core dump) */
	uint64_t image_id;           /* LIVE: its image's image_id */
	uint64_t file_size;          /* LIVE: its image's size */
	uint32_t header_crc;         /* LIVE: its image's header_crc */
	uint32_t file_str;           /* LIVE: its image's file name, beside the root image */
	char comm[16];
	uint32_t nthreads;           /* LIVE: for ckpt info */
	uint32_t pad;
};

#endif
