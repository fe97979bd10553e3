/*
 * The control area of a tree's checkpoint (docs/process-trees.md, step 3):
 * a memfd the root creates and maps shared, and each member maps through
 * /proc/<root>/fd/<fd> when the root's request arrives. A header, then one
 * slot per member asked, in the order they were found (a re-listing may
 * find more: slots never move once a member holds one).
 *
 * A tree may mix the glibc and the musl build of libckpt, so the layout is
 * fixed-size types only, and `magic` says both sides agree on it. Every
 * state and the command are futex words on a shared mapping (FUTEX_WAIT,
 * never the _PRIVATE forms).
 */
#ifndef CKPT_TREE_CONTROL_H
#define CKPT_TREE_CONTROL_H

#include <stdint.h>
#include "../ckpt_format.h"

#define TREE_CONTROL_MAGIC 0x636b7464u /* "ckpc" + layout: bump on any change */
#define TREE_CONTROL_HEADER 12288u

/* What the root tells every member (tree_control.command). */
enum tree_command {
	TREE_WAIT = 0,    /* stay stopped */
	TREE_CAPTURE = 1, /* capture yourself and write your image */
	TREE_RESUME = 2,  /* run on (--continue, or the checkpoint failed) */
	TREE_EXIT = 3,    /* the checkpoint is committed: exit */
};

/* A member's answer (tree_slot.state). */
enum tree_slot_state {
	SLOT_ASKED = 0,   /* request sent, no answer yet */
	SLOT_STOPPED = 1, /* its threads stopped, waiting for a command */
	SLOT_WRITTEN = 2, /* its image is durable under its member file name */
	SLOT_FAILED = 3,  /* `failure` says why, in one line */
	SLOT_EXITED = 4,  /* (the root's mark) it exited on its own before it
	                   * stopped: the next listing has it as a zombie, or
	                   * not at all once its parent reaped it */
};

#define TREE_FAILURE_MAX 480

struct tree_slot {
	int32_t pid;
	uint32_t state;              /* enum tree_slot_state; futex word */
	uint64_t image_id, file_size;
	uint32_t header_crc;
	uint32_t nthreads;
	char failure[TREE_FAILURE_MAX];
};

struct tree_control {
	uint32_t magic;
	uint32_t command;            /* enum tree_command; futex word */
	uint32_t answers;            /* bumped (and woken) at every slot change */
	uint32_t nslots;
	uint64_t tree_id;            /* the root image's image_id */
	int32_t root_pid;
	uint32_t exited;             /* the root's count of SLOT_EXITED marks */
	uint32_t background;         /* --continue or --interval: members write in the
	                              * background, incremental once tracking is on */
	uint32_t periodic;           /* --interval: members turn tracking on (dirty_tracking.c) */
	char image_path[CKPT_PATH_MAX]; /* the root's image path: member files go beside it */
	uint64_t inherited_fds[64];  /* the root's fds open at launch (ckpt_config's bitmap) */
	uint32_t nlive;              /* entries of `live` */
	/* The live processes in tree order, the root first: a member looks
	 * for the first holder of its descriptors among those before it, and
	 * for the other end of its pipes among all of them. */
	int32_t live[CKPT_MAX_MEMBERS];
};

_Static_assert(sizeof(struct tree_control) <= TREE_CONTROL_HEADER, "the control header fits its page");

static inline struct tree_slot *tree_slot_at(struct tree_control *t, uint32_t i)
{
	return (struct tree_slot *)((char *)t + TREE_CONTROL_HEADER) + i;
}

static inline uint64_t tree_control_size(uint32_t nslots)
{
	return (TREE_CONTROL_HEADER + (uint64_t)nslots * sizeof(struct tree_slot) + 4095) & ~4095ull;
}

#endif
