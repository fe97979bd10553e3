/* shared_writer.c: an incremental image written beside the running
 * program by a process sharing its memory, with no fork. */
#ifndef CKPT_SHARED_WRITER_H
#define CKPT_SHARED_WRITER_H

#include <stdint.h>
#include "warm_bounce.h"

struct capture;

/* At most this many bytes of pages are copied in the pause; more, and the
 * forked writer reads them from its copy instead. */
#define SHARED_DATA_MAX WARM_BOUNCE_BYTES
/* Scratch's part for it: the writer's copy of the capture, its %fs block
 * and its stack. */
#define SHARED_WRITER_AREA (1u << 20)

/* In the pause, with the program stopped: if the image can be written
 * beside the program, copies the pages it stores and sets *w to the
 * writer's start, in scratch; else *w is 0 and a forked writer writes it.
 * 0, or -1 with c->error set. */
struct shared_writer;
/* Earlier in the pause, before the regions' flags are known (smaps is
 * still being walked on the other core): if the image looks like one to
 * write beside the program, takes the helper's early copies of its pages
 * where they hold (early_copy.c) and copies the others now, on this core. The
 * flags can only add pages (untrack_unstable_regions), which
 * prepare_shared_write copies after these; if they make the image a
 * forked one after all, it undoes the copies. Never fails: a copy that
 * cannot be made here is left to prepare_shared_write. */
void shared_copy_ahead(struct capture *c);
int prepare_shared_write(struct capture *c, uint64_t started_ns, struct shared_writer **w);

/* Starts the writer (from the first child, as background_writer.c does);
 * its pid or -errno. */
long start_shared_writer(struct shared_writer *w, int32_t *finished); /* *finished set once image_write returns */
/* In the program once the writer exists: scratch is the writer's now. */
void shared_scratch_handed(struct capture *c, uint64_t pause_ns);
/* Once the program no longer reads scratch (scratch_close): the writer
 * may report and unmap it. */
void shared_scratch_let_go(void);
/* Whether a shared writer's scratch may still be mapped: the next capture
 * waits for the writer first, so that the scratch is not in its image. */
int shared_scratch_out(void);

/* After the writer is gone: unmaps scratch if the writer could not (it
 * was killed), in the process that started it only. */
void shared_scratch_reclaim(void);
/* After a restart, or in a forked child: that scratch is not ours. */
void shared_scratch_forget(void);

#endif
