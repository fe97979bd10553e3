/*
 * Guard pages (madvise MADV_GUARD_INSTALL, Linux 6.13+): a program's own
 * markers that make touching a page raise SIGSEGV. The image records them
 * as GUARD extents; they are installed again once their region is mapped.
 * The checkpoint machine had them, and a restart needs the same kernel
 * build (vDSO check), but the stub is run by hand too: phase 1 tries one
 * on a page of its own before anything is torn down.
 *
 * Capture has nothing of its own to do: pagemap reports the markers, and
 * page_kind() makes them GUARD extents in every kind of region. So this
 * kind lives in the stub alone: the kernel check and the install.
 */
#include <sys/mman.h>
#include "mem_kinds.h"
#ifdef CKPT_STUB
#include "../stub/stub.h"
#include "../sys.h"

#define MADV_GUARD_INSTALL_ 102 /* <sys/mman.h> of glibc 2.36 predates it */

static int has_guards(const struct ckpt_header *h, const struct ckpt_extent *e)
{
	for (uint32_t k = 0; k < h->nextents; k++)
		if (e[k].kind == CKPT_EXTENT_GUARD)
			return 1;
	return 0;
}

void check_guard_support(const struct ckpt_header *h, const char *tables)
{
	if (!has_guards(h, (const void *)(tables + h->extents_off)))
		return;
	long p = sys_mmap(0, CKPT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0)
		die("cannot map a page to try a guard page on", p);
	long err = sys_madvise((void *)p, CKPT_PAGE_SIZE, MADV_GUARD_INSTALL_);
	sys_munmap((void *)p, CKPT_PAGE_SIZE);
	if (err < 0)
		die("the image has guard pages and this kernel cannot install them (MADV_GUARD_INSTALL needs Linux 6.13)", err);
}

/* Phase 2, after every region is mapped and loaded. */
void install_guards(void)
{
	for (uint32_t k = 0; k < restart.hdr->nextents; k++) {
		const struct ckpt_extent *e = &restart.extents[k];
		if (e->kind != CKPT_EXTENT_GUARD)
			continue;
		long err = sys_madvise((void *)e->start, e->len, MADV_GUARD_INSTALL_);
		if (err < 0)
			die("cannot install guard pages again (MADV_GUARD_INSTALL)", err);
	}
}
#endif
