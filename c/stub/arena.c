/*
 * The arena: one mapping, in a gap no saved region uses, that holds all the
 * stub needs once the old address space is gone:
 *   [ copy of this program | header + tables | vDSO hop window |
 *     a small stack per thread to clone | the stub's stack ]
 * This program is static-pie with no relocations at all (the build checks),
 * so a byte copy of it runs at any address. Phase 1 fills `restart` with
 * addresses inside the arena before the copy, so the copied `restart` is
 * already right.
 */
#include <sys/mman.h>
#include "stub.h"
#include "../sys.h"

extern char __ehdr_start[], _end[], etext[];

#define STACK_SIZE (256 * 1024)
#define GUARD CKPT_PAGE_SIZE
/* Programs were measured never to use this range, so it is the first try;
 * any other gap works the same. */
#define PREFERRED 0x204000000000ull
#define USER_TOP 0x7ffffffff000ull
#define LOWEST 0x10000ull /* vm.mmap_min_addr's usual value */

static uint64_t page_up(uint64_t v) { return (v + CKPT_PAGE_SIZE - 1) & ~(uint64_t)(CKPT_PAGE_SIZE - 1); }

static int busy(uint64_t start, uint64_t len)
{
	const struct ckpt_header *h = restart.hdr;
	uint64_t end = start + len + GUARD;
	start -= GUARD;
	for (uint32_t i = 0; i < h->nregions; i++)
		if (restart.regions[i].start < end && restart.regions[i].end > start)
			return 1;
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		if (h->special_start[k] < end && h->special_end[k] > start)
			return 1;
	return 0;
}

static long try_map(uint64_t at, uint64_t len)
{
	if (at < LOWEST + GUARD || at + len + GUARD > USER_TOP || busy(at, len))
		return -1;
	long m = sys_mmap((void *)at, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m >= 0 && (uint64_t)m != at) { /* old kernels treat the flag as a hint */
		sys_munmap((void *)m, len);
		return -1;
	}
	return m;
}

/* The preferred address, else the first gap after each region that fits
 * and is free in this process too. */
static uint64_t map_arena(uint64_t len)
{
	long m = try_map(PREFERRED, len);
	for (uint32_t i = 0; m < 0 && i < restart.hdr->nregions; i++)
		m = try_map(restart.regions[i].end + GUARD, len);
	if (m < 0)
		die("no free address range for the restore stub", 0);
	return (uint64_t)m;
}

static void copy(void *to, const void *from, uint64_t n)
{
	__builtin_memcpy(to, from, n);
}

void build_arena(const char *tables, uint64_t vdso_ehdr)
{
	const struct ckpt_header *h = restart.hdr;
	uint64_t code = page_up((uint64_t)(_end - __ehdr_start));
	uint64_t tab = page_up(sizeof *h + h->tables_size);
	uint64_t vvar = h->special_start[CKPT_SPECIAL_VVAR] ? h->special_start[CKPT_SPECIAL_VVAR]
							     : h->special_start[CKPT_SPECIAL_VDSO];
	uint64_t hop = page_up(h->special_end[CKPT_SPECIAL_VDSO] - vvar);
	restart.regions = (void *)(tables + h->regions_off); /* for busy(), before the copy */
	uint64_t stacks = (uint64_t)h->nthreads * THREAD_STUB_STACK, loaders = MAX_LOADERS * LOADER_STACK;
	uint64_t len = code + tab + hop + stacks + loaders + STACK_SIZE;
	uint64_t base = map_arena(len);

	char *t = (char *)(base + code);
	populate_for_writing((void *)base, code + tab); /* the copies below: one call, not a fault a page */
	copy(t, h, sizeof *h);
	copy(t + sizeof *h, tables, h->tables_size);
	const char *nt = t + sizeof *h;
	restart.hdr = (void *)t;
	restart.threads = (void *)(nt + h->threads_off);
	restart.regions = (void *)(nt + h->regions_off);
	restart.extents = (void *)(nt + h->extents_off);
	restart.fds = (void *)(nt + h->fds_off);
	restart.strings = nt + h->strings_off;
	restart.timers = (const void *)(nt + h->process.timers_off);
	restart.signals = (const void *)(nt + h->process.signals_off);
	restart.arena_start = base;
	restart.arena_len = len;
	restart.hop_start = base + code + tab;
	restart.thread_stacks = restart.hop_start + hop;
	restart.loader_stacks = restart.thread_stacks + stacks;
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		if (h->special_start[k])
			restart.vdso_now[k] = vdso_ehdr - (h->special_start[CKPT_SPECIAL_VDSO] - h->special_start[k]);

	copy((void *)base, __ehdr_start, (uint64_t)(_end - __ehdr_start));
	uint64_t text_end = page_up((uint64_t)(etext - __ehdr_start));
	long err = sys_mprotect((void *)base, text_end, PROT_READ | PROT_EXEC);
	if (err < 0)
		die("cannot make the stub copy executable", err);
	void (*entry)(void) = (void (*)(void))(base + (uint64_t)((char *)phase2 - __ehdr_start));
	switch_stack_and_call(entry, base + len);
}
