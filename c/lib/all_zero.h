/* Whether len bytes (a multiple of 64) are all zeros: a cache line at a
 * time, stopping at the first that is not, since most memory is not zeros.
 * Shared by the writer's holes (zero_pages.c) and --compress's empty blocks
 * (compressed_stream.c). */
#ifndef CKPT_ALL_ZERO_H
#define CKPT_ALL_ZERO_H

#include <stdint.h>

static inline int all_zero(const void *p, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)p;
	for (uint64_t i = 0; i < len / 8; i += 8) {
		uint64_t any = 0;
		for (int j = 0; j < 8; j++)
			any |= w[i + j];
		if (any)
			return 0;
	}
	return 1;
}

#endif
