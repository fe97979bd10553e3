/* The image's stored memory, read into place: shared by the loader that
 * writes straight into the mapped regions (memory.c) and the one that goes
 * through /proc/self/mem (uncharged.c), which memory.c calls. */
#include "stub.h"
#include "../sys.h"

void read_memory_from_image(void *to, uint64_t len, uint64_t at)
{
	for (uint64_t got = 0; got < len;) {
		long n = sys_pread(restart.image_fd, (char *)to + got, len - got, (long)(at + got));
		if (n <= 0)
			die("cannot read memory contents from the image", n < 0 ? n : -5);
		got += (uint64_t)n;
	}
}
