/*
 * Phase 2: regions the kernel never charged to the commit limit stay
 * uncharged. A private mapping is charged (VmFlags `ac`) when it is made
 * writable, unless it was mapped MAP_NORESERVE (`nr`); one that never was
 * writable, like a large PROT_NONE reservation or a library's text, is not.
 * Mapping such a region writable to load it would charge it: a reservation
 * of 64 GiB would then be refused outright (after teardown), and any
 * region would keep a charge it did not have. So these regions are mapped
 * with their final protection, and their data (pages a debugger wrote
 * through /proc/PID/mem, say) is written the same way, through
 * /proc/self/mem, whose writes may copy-on-write pages the mapping does
 * not allow (FOLL_FORCE). Regions mapped MAP_NORESERVE are mapped so again
 * (memory.c).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include "stub.h"
#include "../crc32c.h"
#include "../sys.h"

int uncharged(const struct ckpt_region *r)
{
	return !mem_kind_is_shared(r->kind) && !(r->prot & PROT_WRITE) && !(r->vm_flags & (CKPT_VM_ACCOUNT | CKPT_VM_NORESERVE));
}

/* The region holding the extent's start (regions are sorted and disjoint). */
static const struct ckpt_region *region_of(const struct ckpt_extent *e)
{
	uint32_t lo = 0, hi = restart.hdr->nregions;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (restart.regions[mid].start <= e->start)
			lo = mid;
		else
			hi = mid;
	}
	return &restart.regions[lo];
}

int extent_is_uncharged(const struct ckpt_extent *e)
{
	return uncharged(region_of(e));
}

/* Before the loaders start: the descriptor they share, if any extent needs it. */
void open_forced_writes(void)
{
	restart.mem_fd = -1;
	for (uint32_t k = 0; k < restart.hdr->nextents; k++)
		if (ckpt_extent_stored(restart.extents[k].kind) && extent_is_uncharged(&restart.extents[k])) {
			long fd = sys_openat(AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC, 0);
			if (fd < 0)
				die("cannot open /proc/self/mem to restore memory without write permission", fd);
			restart.mem_fd = (int)fd;
			return;
		}
}

void close_forced_writes(void)
{
	if (restart.mem_fd >= 0)
		sys_close(restart.mem_fd);
}

/* Each chunk is read into a bounce buffer mapped for the purpose (every
 * region is in place already, so it lands in a gap), checksummed there,
 * then written into place. */
void load_extent_forced(const struct ckpt_extent *e, struct inflate_scratch *s)
{
	const uint64_t chunk = 2u << 20;
	long buf = sys_mmap(0, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf < 0)
		die("cannot map a buffer to restore memory without write permission", buf);
	uint32_t crc = 0;
	int inflated = ckpt_extent_compressed(e); /* then len <= CKPT_COMPRESS_BLOCK: checked as it inflates */
	if (inflated) {
		inflate_extent(e, (void *)buf, s);
		crc = e->crc;
	}
	for (uint64_t done = 0; done < e->len;) {
		uint64_t want = e->len - done > chunk ? chunk : e->len - done;
		if (!inflated) {
			read_extent_bytes(e, (void *)buf, want, done);
			crc = crc32c_update(crc, (const void *)buf, want);
		}
		for (uint64_t put = 0; put < want;) {
			long n = sys_pwrite(restart.mem_fd, (char *)buf + put, want - put, (long)(e->start + done + put));
			if (n <= 0)
				die("cannot write memory without write permission through /proc/self/mem", n < 0 ? n : -5);
			put += (uint64_t)n;
		}
		done += want;
	}
	sys_munmap((void *)buf, chunk);
	if (crc != e->crc)
		die("memory contents checksum mismatch (corrupt image)", 0);
}
