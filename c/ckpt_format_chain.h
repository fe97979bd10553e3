/*
 * ckpt image format, incremental images' chain: part of c/ckpt_format.h
 * (which includes it; include that, never this), split out so the header
 * stays readable. Same rules: src/image/format.ts mirrors it field by
 * field, and a change bumps CKPT_VERSION there.
 */
#ifndef CKPT_FORMAT_CHAIN_H
#define CKPT_FORMAT_CHAIN_H

#include <stdint.h>

/* Incremental images (version 5, c/lib/incremental.c): an image whose pages
 * unchanged since the image before it are PARENT extents into that image or
 * one before it. Every image it reads from is named in its header, newest
 * first, by content: its unique id, size and header checksum. A chain is at
 * most CKPT_CHAIN_MAX images long, this one included: the next is full. */
#define CKPT_CHAIN_MAX 10
#define CKPT_LINKS_MAX (CKPT_CHAIN_MAX - 1)
struct ckpt_link {
	uint64_t image_id;           /* that image's own image_id */
	uint64_t file_size;
	uint32_t header_crc;
	uint32_t pad;
};

/* How the pages of an image were chosen (ckpt info says it). */
enum ckpt_tracking {
	CKPT_TRACKING_NONE = 0,      /* every page: a stop, or a first --continue */
	CKPT_TRACKING_WRITE_PROTECT = 1, /* userfaultfd write-protect (async) marks written pages */
	CKPT_TRACKING_UNAVAILABLE = 2, /* asked for, refused here: every page */
	/* 3 was --compress (every page) until version 9: no image of a
	 * version this ckpt reads has it. */
	CKPT_TRACKING_MAX = CKPT_TRACKING_UNAVAILABLE,
};

#endif
