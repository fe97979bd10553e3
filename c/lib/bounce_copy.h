/* bounce_copy.c: the pages a writer must not read in place, copied to
 * scratch (or the warm area) while the program is stopped. */
#ifndef CKPT_BOUNCE_COPY_H
#define CKPT_BOUNCE_COPY_H

struct capture;

/* Copies the DATA extents the writer will not read in place to c->bounce
 * (extent_src): of MADV_DONTFORK and WIPEONFORK regions (a forked copy
 * does not see them as they are), or with `every`, all of them. The bytes
 * copied, or -1 with c->error set. `alone`: on this thread only, the
 * other core being busy. */
long bounce_data(struct capture *c, int every, int alone);

#endif
