/*
 * Each thread's NUMA memory policy (c/lib/mempolicy.c captures it): set
 * again by the thread itself with its state (restore_mempolicy), so
 * memory it allocates after the restart lands where it did before. A
 * policy needs no right, but its nodes must be allowed to this restart
 * (its cpuset's mems) and the kernel must know its mode: phase 1
 * (check_mempolicies) tries each on the stub and takes its own back, so a
 * refusal is clean and names the thread. The memory loaded at restart
 * lands under the restart's own policy.
 */
#include "stub.h"
#include "../sys.h"

#define NODE_WORDS 16

static long set_policy(uint32_t mode, uint64_t nodes)
{
	return SYS3(__NR_set_mempolicy, mode, mode ? &nodes : 0, mode ? 65 : 0); /* 64 bits: maxnode counts one more */
}

void check_mempolicies(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_thread *th = (const void *)(tables + h->threads_off);
	int32_t own = 0;
	uint64_t own_nodes[NODE_WORDS] = {0};
	long got = SYS5(__NR_get_mempolicy, &own, own_nodes, NODE_WORDS * 64, 0, 0);
	for (uint32_t i = 0; i < h->nthreads; i++) {
		if (!th[i].mempolicy || (i && th[i].mempolicy == th[i - 1].mempolicy &&
					 th[i].mempolicy_nodes == th[i - 1].mempolicy_nodes))
			continue;
		long err = set_policy(th[i].mempolicy, th[i].mempolicy_nodes);
		if (err >= 0)
			continue;
		struct line l = {.len = 0};
		line_str(&l, "thread ");
		line_i64(&l, th[i].tid);
		line_str(&l, " had NUMA memory policy ");
		line_u64(&l, th[i].mempolicy);
		line_str(&l, " on nodes ");
		line_hex(&l, th[i].mempolicy_nodes);
		line_str(&l, ", which this restart cannot set (its cpuset's memory nodes, or an older kernel): ");
		line_str(&l, errno_text(err));
		die_line(&l);
	}
	if (got >= 0)
		SYS3(__NR_set_mempolicy, own, own ? own_nodes : 0, own ? NODE_WORDS * 64 + 1 : 0);
}

void restore_mempolicy(const struct ckpt_thread *t)
{
	long err = set_policy(t->mempolicy, t->mempolicy_nodes);
	if (err < 0 && !(err == -38 /* ENOSYS: no NUMA */ && !t->mempolicy))
		die("cannot set a thread's memory policy again", err);
}
