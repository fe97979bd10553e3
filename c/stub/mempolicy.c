/*
 * NUMA memory policies (c/lib/mempolicy.c captures them). Each thread's
 * is set again by the thread itself with its state (restore_mempolicy),
 * so memory it allocates after the restart lands where it did before;
 * each region's (mbind) as soon as the region is mapped, before its data
 * loads (restore_region_mempolicy), so that data lands by it too. A policy
 * needs no right, but its nodes must be allowed to this restart (its
 * cpuset's mems) and the kernel must know its mode: phase 1
 * (check_mempolicies) tries each thread's on the stub, taking its own
 * back, and each region's on a page of its own, so a refusal is clean and
 * names the thread or region.
 */
#include <sys/mman.h>
#include "stub.h"
#include "../sys.h"

#define NODE_WORDS 16

static long bind_range(uint64_t start, uint64_t len, uint32_t mode, uint64_t nodes)
{
	return SYS6(__NR_mbind, start, len, mode, mode ? &nodes : 0, mode ? 65 : 0, 0);
}

static __attribute__((noreturn)) void refuse(const char *who, int64_t tid, uint64_t start, uint64_t end,
					     uint32_t mode, uint64_t nodes, long err)
{
	struct line l = {.len = 0};
	line_str(&l, who);
	if (end)
		line_range(&l, start, end);
	else
		line_i64(&l, tid);
	line_str(&l, " had NUMA memory policy ");
	line_u64(&l, mode);
	line_str(&l, " on nodes ");
	line_hex(&l, nodes);
	line_str(&l, ", which this restart cannot set (its cpuset's memory nodes, or an older kernel): ");
	line_str(&l, errno_text(err));
	die_line(&l);
}

static void check_region_mempolicies(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_region *r = (const void *)(tables + h->regions_off);
	long page = -1;
	for (uint32_t i = 0; i < h->nregions; i++) {
		if (!r[i].mempolicy || (i && r[i].mempolicy == r[i - 1].mempolicy && r[i].mempolicy_nodes == r[i - 1].mempolicy_nodes))
			continue;
		if (page < 0 && (page = sys_mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) < 0)
			die("cannot map a page to try the regions' memory policies", page);
		long err = bind_range((uint64_t)page, 4096, r[i].mempolicy, r[i].mempolicy_nodes);
		if (err < 0)
			refuse("region ", 0, r[i].start, r[i].end, r[i].mempolicy, r[i].mempolicy_nodes, err);
	}
	if (page >= 0)
		sys_munmap((void *)page, 4096);
}

void restore_region_mempolicy(const struct ckpt_region *r)
{
	long err = r->mempolicy ? bind_range(r->start, r->end - r->start, r->mempolicy, r->mempolicy_nodes) : 0;
	if (err < 0)
		die("cannot set a region's memory policy again (mbind)", err);
}

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
		if (err < 0)
			refuse("thread ", th[i].tid, 0, 0, th[i].mempolicy, th[i].mempolicy_nodes, err);
	}
	if (got >= 0)
		SYS3(__NR_set_mempolicy, own, own ? own_nodes : 0, own ? NODE_WORDS * 64 + 1 : 0);
	check_region_mempolicies(h, tables);
}

void restore_mempolicy(const struct ckpt_thread *t)
{
	long err = set_policy(t->mempolicy, t->mempolicy_nodes);
	if (err < 0 && !(err == -38 /* ENOSYS: no NUMA */ && !t->mempolicy))
		die("cannot set a thread's memory policy again", err);
}
