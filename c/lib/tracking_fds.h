/* The descriptors dirty tracking keeps in the program between checkpoints
 * (tracking_fds.c). */
#ifndef CKPT_TRACKING_FDS_H
#define CKPT_TRACKING_FDS_H

/* Takes `uffd` (closed here either way) and opens /proc/self/pagemap, both
 * moved high; 0, or -1 with *why set. Call with every thread stopped. */
int tracking_fds_take(int uffd, const char **why);
/* Both still ours: else as tracking_fds_drop. */
int tracking_fds_still_ours(void);
/* Whichever is still ours closed, both forgotten (a forked child's are its parent's). */
void tracking_fds_drop(void);
/* Forgotten, never closed: after a restart (neither is in the image). */
void tracking_fds_forget(void);
int tracking_uffd(void);         /* -1 when none */
int tracking_pagemap(void);      /* -1 when none */
int is_tracking_fd(int fd);      /* capture_fds.c leaves these out */
const void *tracking_fds_statics(void); /* where libckpt keeps them: written during a capture */

#endif
