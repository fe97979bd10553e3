/*
 * Kernel objects a process can hold that ckpt cannot bring back: Linux AIO
 * contexts (io_setup). A restart would silently lose them (the next
 * io_submit fails with EINVAL), so the checkpoint is refused, naming them,
 * and the program runs on. libckpt's own AIO context (image_writer.c)
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

int refuse_unrestorable(struct capture *c)
{
	return refuse_aio(c);
}
