/*
 * NUMA memory policies (set_mempolicy, mbind). A thread's own, which a
 * launch under `numactl --interleave` or `--membind` gives every thread,
 * is captured by the thread itself and set again by it at restart. A
 * region's own (mbind) is not restored yet: it refuses the checkpoint,
 * naming the region. get_mempolicy answers MPOL_DEFAULT for a region
 * without one, and ENOSYS on a kernel without NUMA support, where no
 * program can have either.
 */
#include "ckpt_lib.h"
#include "../sys.h"

#define MPOL_F_ADDR (1 << 1)
#define NODE_WORDS 16 /* 1024 nodes: get_mempolicy wants room for every node the kernel may have */

void capture_thread_mempolicy(struct ckpt_thread *t)
{
	int32_t mode = 0;
	uint64_t nodes[NODE_WORDS] = {0};
	t->mempolicy = 0;
	t->mempolicy_nodes = 0;
	if (SYS5(__NR_get_mempolicy, &mode, nodes, NODE_WORDS * 64, 0, 0) < 0)
		return; /* no NUMA here: the default policy */
	t->mempolicy = (uint32_t)mode;
	t->mempolicy_nodes = nodes[0];
	for (int i = 1; i < NODE_WORDS; i++)
		if (nodes[i])
			t->mempolicy = CKPT_UNKNOWN; /* refused by the coordinator */
}

int refuse_region_mempolicies(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		int32_t mode = 0;
		if (SYS5(__NR_get_mempolicy, &mode, 0, 0, r->start, MPOL_F_ADDR) < 0 || mode == 0 /* MPOL_DEFAULT */)
			continue;
		capture_fail(c, "region ", 0);
		line_range(&c->error, r->start, r->end);
		line_str(&c->error, " has a NUMA memory policy of its own (mbind), which ckpt does not restore yet");
		return -1;
	}
	return 0;
}
