/* worker.c: ckpt's raw helper threads (clone_worker.S), started with
 * every signal blocked and waited for by their tid word. */
#ifndef CKPT_WORKER_H
#define CKPT_WORKER_H

#include <stdint.h>

/* clone_worker.S: a raw clone(2) with a thread's flags running fn(arg) on
 * stack_top; the kernel sets *tid_word, and clears it with a futex wake
 * as the thread exits. The tid, or -errno. */
long clone_worker(void *stack_top, int32_t *tid_word, void (*fn)(void *), void *arg);

/* clone_worker with every signal blocked in the new thread from its first
 * instruction: it may run while the program's handlers are installed and
 * its own threads stopped, and a signal meant for the program must never
 * be taken on a worker's small stack. The tid, or -errno. */
long start_worker(void *stack_top, int32_t *tid_word, void (*fn)(void *), void *arg);

/* Returns once the worker whose tid word this is has exited (at once if
 * none ran, the word being 0). */
void wait_worker_gone(int32_t *tid_word);

#endif
