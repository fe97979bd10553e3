/*
 * CPU affinity (sched_setaffinity), which the kernel keeps per thread and
 * the image does not hold: a restart leaves every thread on the CPUs the
 * restart was given. A thread the program bound itself (OpenMP's
 * OMP_PROC_BIND, a pinned worker pool) would silently run unbound after a
 * restart, so such a checkpoint is refused instead. What counts as
 * unbound is the mask the process had when libckpt loaded, or when it last
 * came back from a restart (the stub's threads all start on the restart's).
 */
#include "ckpt_lib.h"
#include "../sys.h"

#define AFFINITY_BYTES 128 /* 1024 CPUs, as glibc's cpu_set_t */

static unsigned char unbound[AFFINITY_BYTES];
static long unbound_len = -1;

static long read_affinity(int32_t tid, unsigned char mask[AFFINITY_BYTES])
{
	for (int i = 0; i < AFFINITY_BYTES; i++)
		mask[i] = 0;
	return SYS3(__NR_sched_getaffinity, tid, AFFINITY_BYTES, mask);
}

void affinity_remember_unbound(void)
{
	unbound_len = read_affinity(0, unbound);
}

int affinity_was_set(int32_t tid)
{
	unsigned char mask[AFFINITY_BYTES];
	if (unbound_len < 0 || read_affinity(tid, mask) < 0)
		return 0; /* more than 1024 CPUs: not told apart */
	for (int i = 0; i < AFFINITY_BYTES; i++)
		if (mask[i] != unbound[i])
			return 1;
	return 0;
}
