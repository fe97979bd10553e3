#define _GNU_SOURCE
#include <sched.h>
/*
 * Phase 2, memory: from here on the stub runs only from the arena, and a
 * failure ends the process (the image on disk is untouched).
 */
#include <sys/mman.h>
#include "stub.h"
#include "../crc32c.h"
#include "../sys.h"

#define USER_TOP 0x7ffffffff000ull

static uint64_t vdso_block_start(void)
{
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		if (restart.vdso_now[k])
			return restart.vdso_now[k];
	return 0;
}

static uint64_t special_len(int k)
{
	return restart.hdr->special_end[k] - restart.hdr->special_start[k];
}

static void unmap_range(uint64_t from, uint64_t to)
{
	if (to > from)
		sys_munmap((void *)from, to - from);
}

/* Everything but the arena and (when the image wants one) the kernel's
 * vDSO block goes: the old stub, its stack, its first tables. */
void unmap_all_but_arena_and_vdso(void)
{
	uint64_t keep[2][2] = {{restart.arena_start, restart.arena_start + restart.arena_len}, {0, 0}};
	uint64_t v = vdso_block_start();
	if (v)
		keep[1][0] = v, keep[1][1] = restart.vdso_now[CKPT_SPECIAL_VDSO] + special_len(CKPT_SPECIAL_VDSO);
	if (keep[1][0] && keep[1][0] < keep[0][0]) {
		uint64_t a = keep[0][0], b = keep[0][1];
		keep[0][0] = keep[1][0], keep[0][1] = keep[1][1];
		keep[1][0] = a, keep[1][1] = b;
	}
	uint64_t at = CKPT_PAGE_SIZE;
	for (int i = 0; i < 2; i++) {
		if (!keep[i][1])
			continue;
		unmap_range(at, keep[i][0]);
		at = keep[i][1];
	}
	unmap_range(at, USER_TOP);
}

/* [vvar], [vvar_vclock] and [vdso] move only together, at the same offsets
 * from each other (the vDSO code finds its data by relative address). Each
 * goes first into the arena's hop window, then to its saved place, so the
 * old and new blocks may overlap. */
void move_vdso(void)
{
	const struct ckpt_header *h = restart.hdr;
	uint64_t base = vdso_block_start(), saved_base = 0;
	if (!base)
		return;
	for (int k = 0; k < CKPT_NSPECIAL && !saved_base; k++)
		saved_base = h->special_start[k];
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < CKPT_NSPECIAL; k++) {
			if (!restart.vdso_now[k])
				continue;
			uint64_t len = special_len(k), rel = h->special_start[k] - saved_base;
			uint64_t from = pass ? restart.hop_start + rel : restart.vdso_now[k];
			uint64_t to = pass ? h->special_start[k] : restart.hop_start + rel;
			long r = sys_mremap((void *)from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to);
			if (r < 0)
				die("cannot move the vDSO to its saved address", r);
		}
}

/* Reads an extent straight into place in chunks small enough to still be
 * in cache when they are checksummed right after. */
static void load_extent(const struct ckpt_extent *e)
{
	const uint64_t chunk = 2u << 20;
	uint32_t crc = 0;
	for (uint64_t done = 0; done < e->len;) {
		uint64_t want = e->len - done > chunk ? chunk : e->len - done;
		populate_for_writing((void *)(e->start + done), want);
		read_extent_bytes(e, (void *)(e->start + done), want, done);
		crc = crc32c_update(crc, (const void *)(e->start + done), want);
		done += want;
	}
	if (crc != e->crc)
		die("memory contents checksum mismatch (corrupt image)", 0);
}

/* Shared files never get our bytes, and regions never charged must stay so
 * (uncharged.c), so they get their final protection at once; everything
 * else is writable while it loads. */
static int loading_prot(const struct ckpt_region *r)
{
	return r->kind == CKPT_REGION_FILE_SHARED || uncharged(r) ? (int)r->prot : PROT_READ | PROT_WRITE;
}

static void map_region(const struct ckpt_region *r)
{
	int flags = MAP_FIXED | (mem_kind_is_shared(r->kind) ? MAP_SHARED : MAP_PRIVATE) |
		    (r->vm_flags & CKPT_VM_NORESERVE ? MAP_NORESERVE : 0);
	long m;
	switch (r->kind) {
	case CKPT_REGION_FILE_PRIVATE:
	case CKPT_REGION_FILE_SHARED:
		m = mem_file_map(r, flags, loading_prot(r));
		break;
	case CKPT_REGION_SYSV_SHM:
		m = mem_sysv_map(r);
		break;
	case CKPT_REGION_ANON:
	case CKPT_REGION_STACK:
	case CKPT_REGION_SHARED_ANON:
	default: /* none other passed validate.c */
		m = mem_anon_map(r, flags, loading_prot(r));
		break;
	}
	if (m < 0 || (uint64_t)m != r->start)
		die("cannot map a memory region at its saved address", m < 0 ? m : 0);
	restore_region_mempolicy(r); /* before its data loads: the pages land by it */
}

static void protect_region(const struct ckpt_region *r)
{
	if (loading_prot(r) == (int)r->prot)
		return;
	long err = sys_mprotect((void *)r->start, r->end - r->start, (int)r->prot);
	if (err < 0)
		die("cannot set a region's protection", err);
}

/* One extent that is not part of a batch: large, compressed (its own or
 * part of an older image's block) or uncharged. */
static void load_alone(const struct ckpt_extent *e, struct inflate_scratch *inflating)
{
	if (!ckpt_extent_stored(e->kind))
		return;
	if (extent_is_uncharged(e))
		load_extent_forced(e, inflating);
	else if (ckpt_extent_compressed(e))
		inflate_extent(e, (void *)e->start, inflating);
	else
		load_extent(e);
}

/* Page faults, zeroing and copying dominate a restore, and they run in
 * parallel on separate cores: every loader, this thread included, takes
 * the next unloaded extents until none is left: a batch of small ones
 * (load_batches.c), or extents loaded one by one (the parts of one older
 * compressed block go together, so one loader inflates it once). */
static void load_extents(void)
{
	struct inflate_scratch inflating = {0};
	struct batch_scratch scratch = {0};
	uint32_t first, end;
	while (claim_extents(&first, &end)) {
		if (is_batch(first))
			load_batch(first, end, &scratch);
		else
			for (uint32_t k = first; k < end; k++)
				load_alone(&restart.extents[k], &inflating);
	}
	release_inflate_scratch(&inflating);
	release_batch_scratch(&scratch);
}

static void loader_start(void *arg)
{
	(void)arg;
	load_extents();
	SYS1(__NR_exit, 0); /* this thread only; the kernel then clears its tid word */
}

static uint64_t data_bytes(void)
{
	uint64_t total = 0;
	for (uint32_t k = 0; k < restart.hdr->nextents; k++)
		if (ckpt_extent_stored(restart.extents[k].kind))
			total += restart.extents[k].len;
	return total;
}

/* In a namespace, at a tid above the program's (clone_helper_thread):
 * the program's threads are cloned after, at their old tids. */
static long clone_loader(unsigned long flags, uint64_t top, int32_t *tid, uint64_t tls)
{
	if (restart.namespace == RESTART_NS_NONE)
		return clone_thread(flags, top, tid, tid, tls, loader_start, 0);
	uint64_t *start = (uint64_t *)(top - 16);
	start[0] = (uint64_t)loader_start;
	start[1] = 0;
	struct clone3_args a = {
		.flags = flags, .parent_tid = (uint64_t)tid, .child_tid = (uint64_t)tid, .tls = tls,
		.stack = top - LOADER_STACK, .stack_size = LOADER_STACK - 16,
	};
	return clone_helper_thread(&a);
}

static void load_in_parallel(void)
{
	int loaders = usable_cpus() - 1;
	if (loaders > MAX_LOADERS)
		loaders = MAX_LOADERS;
	if (data_bytes() < (16u << 20))
		loaders = 0; /* not worth a thread */
	/* Inflating needs a thread area (inflate.c); ours is set again at the end. */
	uint64_t tls = extents_inflate(restart.hdr, restart.extents) ? inflate_tls() : 0;
	if (tls)
		use_inflate_tls();
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
				    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | (tls ? CLONE_SETTLS : 0);
	for (int i = 0; i < loaders; i++) {
		uint64_t top = restart.loader_stacks + (uint64_t)(i + 1) * LOADER_STACK;
		int32_t *tid = &restart.loader_tid[i];
		if (clone_loader(flags, top, tid, tls) < 0)
			*tid = 0; /* fewer helpers is fine */
	}
	load_extents();
	/* Wait until each loader has left the arena for good, as pthread_join does. */
	for (int i = 0; i < loaders; i++) {
		int32_t tid;
		while ((tid = __atomic_load_n(&restart.loader_tid[i], __ATOMIC_ACQUIRE)) != 0)
			SYS4(__NR_futex, &restart.loader_tid[i], 0 /* FUTEX_WAIT */, tid, 0);
	}
}

void map_regions(void)
{
	for (uint32_t i = 0; i < restart.hdr->nregions; i++)
		map_region(&restart.regions[i]);
	lazy_start(); /* --lazy: private anonymous memory is the page server's to load */
	open_forced_writes();
	load_in_parallel();
	close_forced_writes();
	close_tree_memory();
	finish_sysv_views();
	/* Guards first: the kernel refuses to install them in a locked or
	 * sealed region, and restore_advice() locks and seals. */
	install_guards();
	for (uint32_t i = 0; i < restart.hdr->nregions; i++) {
		protect_region(&restart.regions[i]);
		restore_advice(&restart.regions[i]);
	}
}
