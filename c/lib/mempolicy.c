/*
 * NUMA memory policies (set_mempolicy, mbind). A thread's own, which a
 * launch under `numactl --interleave` or `--membind` gives every thread,
 * is captured by the thread itself; a region's own (mbind: OpenBLAS binds
 * its buffers, a database its shared memory) with the regions. The stub
 * sets each again (c/stub/mempolicy.c). get_mempolicy answers MPOL_DEFAULT
 * for a region without one, and ENOSYS on a kernel without NUMA support,
 * where no program can have either. The image holds nodes 0-63: a policy
 * naming another refuses the checkpoint.
 */
#include "ckpt_lib.h"
#include "../sys.h"

#define MPOL_F_ADDR (1 << 1)
#define NODE_WORDS 16 /* 1024 nodes: get_mempolicy wants room for every node the kernel may have */

/* mode | flags and nodes 0-63, or CKPT_UNKNOWN when it names a node above. */
static void read_policy(uint64_t addr, uint32_t *mode_out, uint64_t *nodes_out)
{
	int32_t mode = 0;
	uint64_t nodes[NODE_WORDS] = {0};
	*mode_out = 0;
	*nodes_out = 0;
	if (SYS5(__NR_get_mempolicy, &mode, nodes, NODE_WORDS * 64, addr, addr ? MPOL_F_ADDR : 0) < 0)
		return; /* no NUMA here: the default policy */
	*mode_out = (uint32_t)mode;
	*nodes_out = nodes[0];
	for (int i = 1; i < NODE_WORDS; i++)
		if (nodes[i])
			*mode_out = CKPT_UNKNOWN;
}

void capture_thread_mempolicy(struct ckpt_thread *t)
{
	read_policy(0, &t->mempolicy, &t->mempolicy_nodes); /* refused by the coordinator if unknown */
}

int capture_region_mempolicies(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		struct ckpt_region *r = &c->regions[i];
		read_policy(r->start, &r->mempolicy, &r->mempolicy_nodes);
		if (r->mempolicy != CKPT_UNKNOWN)
			continue;
		capture_fail(c, "region ", 0);
		line_range(&c->error, r->start, r->end);
		line_str(&c->error, " has a NUMA memory policy (mbind) naming nodes above 63, which the image cannot hold");
		return -1;
	}
	return 0;
}
