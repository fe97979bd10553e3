/* The image's stored memory, read into place: shared by the loader that
 * writes straight into the mapped regions (memory.c), the one that goes
 * through /proc/self/mem (uncharged.c), which memory.c calls, and the
 * inflater (inflate.c). A PARENT extent's bytes are in the older image it
 * names (chain.c), never compressed there. */
#include "stub.h"
#include "../sys.h"

static void read_from(int fd, void *to, uint64_t len, uint64_t at, const char *why)
{
	long err = sys_pread_full(fd, to, len, (long)at);
	if (err < 0)
		die(why, err);
}

void read_memory_from_image(void *to, uint64_t len, uint64_t at)
{
	read_from(restart.image_fd, to, len, at, "cannot read memory contents from the image");
}

void read_extent_bytes(const struct ckpt_extent *e, void *to, uint64_t len, uint64_t done)
{
	if (e->kind == CKPT_EXTENT_PARENT)
		read_from(restart.link_fd[e->link], to, len, e->data_offset + done,
			  "cannot read memory contents from an older image of the chain");
	else
		read_memory_from_image(to, len, e->data_offset + done);
}
