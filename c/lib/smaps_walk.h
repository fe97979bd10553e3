/* smaps_walk.c: the VmFlags of every entry of /proc/self/smaps, read on a
 * thread of its own while the rest of the capture goes on. */
#ifndef CKPT_SMAPS_WALK_H
#define CKPT_SMAPS_WALK_H

#include <stdint.h>

/* One smaps entry's range and its flags (maps_vmflags). */
struct vm_span {
	uint64_t start, end, flags;
};

/* Scratch's part for it: its state, the window it reads smaps through,
 * the table of spans and the worker's stack. */
#define SMAPS_WINDOW (1u << 20)
#define SMAPS_SPANS_BYTES (2u << 20)
#define SMAPS_STACK (64u << 10)
#define SMAPS_WALK_AREA (4096u + SMAPS_WINDOW + SMAPS_SPANS_BYTES + SMAPS_STACK)

struct smaps_walk;

/* Lays the walk out in `area` (SMAPS_WALK_AREA bytes of scratch). */
struct smaps_walk *smaps_walk_place(char *area);
/* With every thread of the program stopped: starts the walk on a worker
 * thread. If none can start, smaps_walk_join does it. */
void smaps_walk_begin(struct smaps_walk *w);
/* Waits for the walk (or does it now): 0 with *spans and *n set, or
 * -errno (-ENOSPC: more entries than the table holds). */
long smaps_walk_join(struct smaps_walk *w, const struct vm_span **spans, uint32_t *n);
/* The descriptor it reads smaps through, while it is open; else -1.
 * ckpt's own: not one of the program's. */
int smaps_walk_fd(const struct smaps_walk *w);
/* Waits for a worker, if one runs; never walks. Before scratch goes: the
 * worker's stack is in it. */
void smaps_walk_end(struct smaps_walk *w);

#endif
