/* The image's stored memory, read into place: shared by the loader that
 * writes straight into the mapped regions (memory.c), the one that goes
 * through /proc/self/mem (uncharged.c), which memory.c calls, and the
 * inflater (inflate.c), and the batches (load_batches.c), which memory.c
 * calls. A PARENT extent's bytes are in the older image it names
 * (chain.c): as they are, or in one of its compressed blocks (inflate.c). */
#include <sys/mman.h>
#include "stub.h"
#include "../sys.h"

void die_unreadable(const struct ckpt_extent *e, long err)
{
	die(e->kind == CKPT_EXTENT_PARENT ? "cannot read memory contents from an older image of the chain"
					  : "cannot read memory contents from the image",
	    err);
}

void read_extent_bytes(const struct ckpt_extent *e, void *to, uint64_t len, uint64_t done)
{
	uint64_t at = e->data_offset + done;
	int fd = loader_fd(e, (uint64_t)to | len | at);
	long err = sys_pread_full(fd, to, len, (long)at);
	if (err < 0 && (fd = retry_through_cache(e, fd, err)) >= 0)
		err = sys_pread_full(fd, to, len, (long)at);
	if (err < 0)
		die_unreadable(e, err);
}

/* Each first write to a page of fresh memory is a page fault, and in a VM
 * a fault is dear (14 us here: 3.7 s of faults to fill 1 GiB a page at a
 * time, against 1.4 s with the pages made first; docs/performance.md).
 * MADV_POPULATE_WRITE (Linux 5.14) makes a range's pages in one call, as
 * the write would; where it is refused, the writes fault as before. Only
 * for memory about to be written whole: a page made here is never left
 * unwritten, so nothing is charged that the program did not have. */
void populate_for_writing(void *to, uint64_t len)
{
	if (len > CKPT_PAGE_SIZE)
		sys_madvise(to, len, MADV_POPULATE_WRITE);
}
