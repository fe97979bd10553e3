/* What libckpt does after `ckpt restart --lazy` (docs/lazy-restart.md):
 * checkpoints and forks wait until the page server has loaded all memory. */
#ifndef CKPT_LAZY_H
#define CKPT_LAZY_H

/* lazy_wait.c: after `ckpt restart --lazy`, wait (bounded) until the page
 * server has loaded all memory: 0, or -1 when it has not in time. */
void lazy_after_restart(int lazy);
int lazy_wait(void);

/* fork_hold.c: the libc's fork variants behind its wrappers, looked up by
 * the constructor (init.c). */
void fork_hold_resolve(void);

#endif
