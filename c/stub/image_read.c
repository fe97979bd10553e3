/* The image's stored memory, read into place: shared by the loader that
 * writes straight into the mapped regions (memory.c) and the one that goes
 * through /proc/self/mem (uncharged.c), which memory.c calls. A PARENT
 * extent's bytes are in the older image it names (chain.c). */
#include "stub.h"
#include "../sys.h"

void read_extent_bytes(const struct ckpt_extent *e, void *to, uint64_t len, uint64_t done)
{
	int fd = e->kind == CKPT_EXTENT_PARENT ? restart.link_fd[e->link] : restart.image_fd;
	uint64_t at = e->data_offset + done;
	for (uint64_t got = 0; got < len;) {
		long n = sys_pread(fd, (char *)to + got, len - got, (long)(at + got));
		if (n <= 0)
			die(e->kind == CKPT_EXTENT_PARENT ? "cannot read memory contents from an older image of the chain"
							  : "cannot read memory contents from the image",
			    n < 0 ? n : -5);
		got += (uint64_t)n;
	}
}
