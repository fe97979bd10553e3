/* warm_bounce.c: where a writer beside the program finds its copies of
 * the written pages, kept mapped and resident between checkpoints. */
#ifndef CKPT_WARM_BOUNCE_H
#define CKPT_WARM_BOUNCE_H

#include <stdint.h>

/* Its size: the most a pause copies (shared_writer.c). */
#define WARM_BOUNCE_BYTES (64ull << 20)

/* The area, mapped on first use; 0 if it cannot be. */
char *warm_bounce(void);
/* The area, unless the pause would not copy into it (warm_bounce_wanted). */
char *warm_bounce_if_wanted(void);
/* Touches the pages of [from, to), off the pause (early_copy.c, in the
 * helper). */
void warm_bounce_touch(uint64_t from, uint64_t to);
/* Whether the pause may copy into it (shared_writer.c, every incremental
 * pause): while not, the helper does not touch it, and its pages go back. */
void warm_bounce_wanted(int wanted);
/* Where it is, to leave out of the image; [0, 0) if nowhere. */
void warm_bounce_range(uint64_t *lo, uint64_t *hi);
/* After a restart: the image never held it. */
void warm_bounce_forget(void);

#endif
