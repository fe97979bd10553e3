/*
 * Starting and joining ckpt's raw helper threads (clone_worker.S): the
 * early helper, the smaps walk, the copy in the pause, --compress's
 * helpers. Each blocks every signal, and each is joined on the word the
 * kernel clears, with a futex wake, once the thread is gone, before its
 * stack (in scratch or an area of ckpt's) may go.
 */
#include <linux/futex.h>
#include <signal.h>
#include "worker.h"
#include "../sys.h"

long start_worker(void *stack_top, int32_t *tid_word, void (*fn)(void *), void *arg)
{
	const uint64_t all = ~0ull;
	uint64_t old;
	sys_rt_sigprocmask(SIG_SETMASK, &all, &old); /* inherited by the clone, then undone here */
	long tid = clone_worker(stack_top, tid_word, fn, arg);
	sys_rt_sigprocmask(SIG_SETMASK, &old, 0);
	return tid;
}

void wait_worker_gone(int32_t *tid_word)
{
	for (int32_t tid; (tid = __atomic_load_n(tid_word, __ATOMIC_ACQUIRE)) != 0;)
		sys_futex(tid_word, FUTEX_WAIT, (uint32_t)tid, 0); /* not _PRIVATE: the kernel's clear wakes so */
}
