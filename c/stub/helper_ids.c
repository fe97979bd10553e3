/*
 * Ids for the restart's own helpers: a tree's go-betweens, the loader
 * threads, the page server of --lazy and its watcher. They live in the
 * namespace while ids of the program are still to be given out: its
 * threads are cloned at their old tids last, past the point of no return.
 * The kernel's choice would be the namespace's first free id (2, 3, ...),
 * the tid of any thread a program started after an earlier restart into a
 * namespace: that thread's clone would then fail with EEXIST. Not only
 * while the helper runs: an exited thread's id is freed a little after the
 * futex wake its joiner waits for. So a helper takes the first free id
 * above every one the restart gives back; past pid_max (EINVAL), or with
 * the 64 above taken, the kernel's choice. Outside a namespace every id is
 * new: the kernel's choice.
 */
#include "stub.h"
#include "../sys.h"

void note_id(int32_t id)
{
	restart.highest_id = id > restart.highest_id ? id : restart.highest_id;
}

void note_ids(const struct ckpt_header *h, const char *tables)
{
	note_id(h->pid), note_id(h->ppid), note_id(h->pgid), note_id(h->sid);
	const struct ckpt_thread *t = (const void *)(tables + h->threads_off);
	for (uint32_t i = 0; i < h->nthreads; i++)
		note_id(t[i].tid);
}

static long clone_above(struct clone3_args *a, long (*make)(struct clone3_args *))
{
	long made = -17; /* EEXIST */
	for (int32_t id = restart.highest_id + 1;
	     restart.namespace != RESTART_NS_NONE && made == -17 && id < restart.highest_id + 64; id++) {
		a->set_tid = (uint64_t)&id;
		a->set_tid_size = 1;
		made = make(a);
	}
	if (made != -17 && made != -22)
		return made;
	a->set_tid = 0, a->set_tid_size = 0;
	return make(a);
}

static long make_process(struct clone3_args *a)
{
	return sys_clone3(a, sizeof *a);
}

static long make_thread(struct clone3_args *a)
{
	return clone3_thread(a, sizeof *a);
}

long clone_helper(uint64_t exit_signal)
{
	struct clone3_args a = {.exit_signal = exit_signal};
	return clone_above(&a, make_process);
}

long clone_helper_thread(struct clone3_args *a)
{
	return clone_above(a, make_thread);
}
