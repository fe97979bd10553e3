/*
 * Kernel objects a process can hold that ckpt cannot bring back: Linux AIO
 * contexts (io_setup) and POSIX timers (timer_create). A restart would
 * silently lose them (the next io_submit fails with EINVAL, a timer never
 * fires), so the checkpoint is refused, naming them, and the program runs
 * on. libckpt's own AIO context (image_writer.c) exists only while the
 * image is being written, after this check, and it creates no timers.
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

/* /proc/self/timers has one "ID: n" line per timer. */
static int refuse_posix_timers(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/timers");
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/timers", len);
	c->text[len] = 0;
	int found = 0;
	for (const char *at = c->text; *at;) {
		if (str_starts(at, "ID: ")) {
			if (!found++)
				capture_fail(c, "the program has POSIX timers (timer_create), which ckpt does not restore: id ", 0);
			else
				line_str(&c->error, ", ");
			char id[16];
			size_t n = 0;
			for (at += 4; *at >= '0' && *at <= '9' && n < sizeof id - 1; at++)
				id[n++] = *at;
			id[n] = 0;
			line_str(&c->error, id);
		}
		while (*at && *at++ != '\n')
			;
	}
	if (found)
		line_str(&c->error, "; delete them (timer_delete) before a checkpoint, or use setitimer, which is restored");
	return found ? -1 : 0;
}

int refuse_unrestorable(struct capture *c)
{
	return refuse_aio(c) || refuse_posix_timers(c);
}
