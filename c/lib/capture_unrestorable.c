/*
 * State a process can hold that ckpt cannot bring back: Linux AIO contexts
 * (io_setup; a restart would silently lose them, the next io_submit failing
 * with EINVAL) and KSM for the whole process (PR_SET_MEMORY_MERGE: each
 * region's own flag comes back, but memory mapped after a restart would
 * silently not be merged). The checkpoint is refused, naming them, and the
 * program runs on. libckpt's own AIO context (image_writer.c)
 * exists only while the image is being written, after this check. (POSIX
 * timers are restored: capture_timers.c.)
 */
#include "ckpt_lib.h"
#include "../maps.h"
#include "../sys.h"

/* An AIO context is an "[aio]" ring mapped into the process: its address
 * is the context id io_setup returned. */
static int refuse_aio(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/maps");
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/maps", len);
	const char *at = c->text, *end = c->text + len;
	struct maps_entry e;
	int found = 0;
	for (int rc; (rc = maps_next(&at, end, &e)) != 0;) {
		if (rc < 0 || !maps_is(&e, "/[aio]"))
			continue;
		if (!found++)
			capture_fail(c, "the program has Linux AIO contexts (io_setup), which cannot be restored: ring at ", 0);
		else
			line_str(&c->error, ", ");
		line_hex(&c->error, e.start);
	}
	if (found)
		line_str(&c->error, "; checkpoint once they are destroyed (io_destroy)");
	return found ? -1 : 0;
}

#define PR_GET_MEMORY_MERGE 68 /* Linux 6.4; EINVAL before, when it cannot be set */

static int refuse_memory_merge(struct capture *c)
{
	if (sys_prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 1)
		return 0;
	return capture_fail(c, "the program turned on KSM for all its memory (prctl PR_SET_MEMORY_MERGE), which is "
			       "not carried across a restart; checkpoint with it off (PR_SET_MEMORY_MERGE 0; "
			       "madvise MADV_MERGEABLE per region is restored)", 0);
}

int refuse_unrestorable(struct capture *c)
{
	return refuse_aio(c) || refuse_memory_merge(c) ? -1 : 0;
}
