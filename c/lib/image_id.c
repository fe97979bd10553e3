/* An image's id: what an incremental image names its parent by, with its
 * size and header checksum, and what a tree's member table names each
 * member image by: unique per capture, whatever the file is called by then. */
#include "ckpt_lib.h"
#include "../sys.h"

uint64_t new_image_id(void)
{
	uint64_t id = 0;
	if (SYS3(__NR_getrandom, &id, sizeof id, 1 /* GRND_NONBLOCK */) != sizeof id || !id)
		id = now_ns(1) ^ ((uint64_t)sys_getpid() << 40) ^ 1;
	return id;
}
