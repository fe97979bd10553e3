/* Bounds checks on untrusted offsets, shared by every check of an image's
 * records (the stub's validation and the kinds' record checks). */
#ifndef CKPT_RANGE_H
#define CKPT_RANGE_H
#include <stdint.h>

/* [off, off+len) lies within [0, limit), without overflow. */
static inline int within(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

/* A time as the kernel takes it (struct timespec): never negative, nanoseconds below a second. */
static inline int valid_timespec(int64_t sec, int64_t nsec)
{
	return sec >= 0 && nsec >= 0 && nsec < 1000000000;
}

#endif
