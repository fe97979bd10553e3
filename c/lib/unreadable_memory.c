/*
 * Pages the program itself cannot read (PROT_NONE, or write-only) still
 * hold its data: a program that writes a buffer and then protects it
 * expects the bytes back when it unprotects it. We read them through
 * /proc/self/mem, whose reads use FOLL_FORCE and so reach pages without
 * read permission (on any region that may be readable, VM_MAYREAD, which
 * is all of them but a few special mappings).
 *
 * Why not mprotect them readable for the time of the write: in stop mode
 * a write that fails leaves the program running, so every protection
 * would have to be put back exactly, and mprotect splits and merges the
 * kernel's regions, which the program can see in its maps. Reading
 * through /proc/self/mem changes nothing in the program.
 *
 * Which process: an open /proc/PID/mem holds the memory of the process
 * that opened it. The --continue writer must read its own copy-on-write
 * view (the program runs on and changes its memory), so the descriptor is
 * opened by whoever writes, and the coordinator closes its own before the
 * writer is cloned (close_unreadable). Only pages pagemap saw present or
 * swapped are read; untouched ones stay holes (a thread stack's guard page
 * among them).
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

static long mem_fd(struct capture *c)
{
	if (c->mem_fd <= 0)
		c->mem_fd = sys_openat(AT_FDCWD, "/proc/self/mem", O_RDONLY | O_CLOEXEC, 0) + 1;
	return c->mem_fd - 1;
}

long read_unreadable(struct capture *c, void *to, uint64_t addr, uint64_t len)
{
	long fd = mem_fd(c);
	if (fd < 0)
		return fd;
	for (uint64_t done = 0; done < len;) {
		long n = sys_pread((int)fd, (char *)to + done, len - done, (long)(addr + done));
		if (n <= 0)
			return n < 0 ? n : -14 /* EFAULT */;
		done += (uint64_t)n;
	}
	return 0;
}

void close_unreadable(struct capture *c)
{
	if (c->mem_fd > 0)
		sys_close((int)c->mem_fd - 1);
	c->mem_fd = 0;
}

/* A kernel may refuse FOLL_FORCE (proc_mem.force_override=never): then the
 * checkpoint is refused here, naming the region, while the program can
 * still run on, rather than failing in the writer. */
int check_unreadable(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (!(r->flags & CKPT_REGION_UNREAD))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++) {
			const struct ckpt_extent *x = &c->extents[k];
			if (x->kind != CKPT_EXTENT_DATA)
				continue;
			long err = read_unreadable(c, c->text, x->start, CKPT_PAGE_SIZE);
			if (!err)
				break;
			c->error.len = 0;
			line_str(&c->error, "cannot read the contents of region ");
			line_range(&c->error, r->start, r->end);
			line_str(&c->error, ", which has no read permission, through /proc/self/mem (");
			line_str(&c->error, errno_text(err));
			line_str(&c->error, "); make it readable before the checkpoint");
			return -1;
		}
	}
	return 0;
}
