/**
 * The image format's constants for how memory data is stored, version 5
 * (see format.ts, which re-exports everything here): compression's codec
 * and block (c/ckpt_format.h), incremental images' chain and tracking
 * (c/ckpt_format_chain.h).
 */

// Compression: the header's codec; the most memory one compressed extent holds.
export const CKPT_CODEC_NONE = 0;
export const CKPT_CODEC_LZ4 = 1;
export const CKPT_CODEC_MAX = CKPT_CODEC_LZ4;
export const CKPT_COMPRESS_BLOCK = 1 << 20;
// The longest DATA or PARENT extent the capture cuts uncompressed (a writer's rule; readers accept any).
export const CKPT_DATA_EXTENT_MAX = 2 << 20;

// Incremental images: the chain's length, and how an image's pages were chosen.
export const CKPT_CHAIN_MAX = 10, CKPT_LINKS_MAX = CKPT_CHAIN_MAX - 1;
export const CKPT_TRACKING_NONE = 0, CKPT_TRACKING_WRITE_PROTECT = 1, CKPT_TRACKING_UNAVAILABLE = 2;
// 3 was --compress (every page) until version 9: no image of a version this ckpt reads has it.
export const CKPT_TRACKING_MAX = CKPT_TRACKING_UNAVAILABLE;

/** Every constant above, by its C name, for the mirror test (format.ts's C_CONSTANTS takes them). */
export const STORAGE_C_CONSTANTS: Readonly<Record<string, number>> = {
	CKPT_CODEC_NONE, CKPT_CODEC_LZ4, CKPT_CODEC_MAX, CKPT_COMPRESS_BLOCK, CKPT_DATA_EXTENT_MAX,
	CKPT_CHAIN_MAX, CKPT_LINKS_MAX, CKPT_TRACKING_NONE, CKPT_TRACKING_WRITE_PROTECT, CKPT_TRACKING_UNAVAILABLE,
	CKPT_TRACKING_MAX,
};
