/*
 * `ckpt restart --lazy`, phase 2 (docs/lazy-restart.md), once every region
 * is mapped and before anything is loaded: the private anonymous regions
 * are registered with the userfaultfd (missing pages), the page server
 * (lazy_server.c) starts, and their extents become its to load. Everything
 * else loads here as before.
 *
 * The server is forked twice over and its first parent exits at once, so
 * it is never the program's child (a wait() of the program's own would
 * see it, and its end would raise SIGCHLD in the program): the namespace's
 * init, or the system's reaper, adopts it. The middle process has no exit
 * signal, so the program gets none from it either. Each takes a pid above
 * every id of the image (clone_helper): its threads are cloned after.
 * An orphan goes to its nearest ancestor that is a child subreaper, and
 * phase 1 made this process one again if the program was: the flag is
 * off while the middle process ends, so the server goes above the program.
 */
#include <linux/ioctl.h>
#include <linux/prctl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include "stub.h"
#include "../sys.h"

#define WALL 0x40000000 /* __WALL: a child with no exit signal */

static int register_lazy_regions(void)
{
	int registered = 0;
	for (uint32_t i = 0; i < restart.hdr->nregions; i++) {
		const struct ckpt_region *r = &restart.regions[i];
		if (!region_loads_lazily(r))
			continue;
		struct uffdio_register reg = {.range = {r->start, r->end - r->start}, .mode = UFFDIO_REGISTER_MODE_MISSING};
		long err = sys_ioctl(restart.lazy_fd, UFFDIO_REGISTER, &reg);
		if (err < 0)
			die("cannot register memory with the userfaultfd (--lazy)", err);
		registered++;
	}
	return registered;
}

/* The server now holds them: this process's loaders skip them (a hole has
 * nothing to load), and the server's copy of the table still says where
 * their bytes are. */
static void hand_over_extents(void)
{
	for (uint32_t i = 0; i < restart.hdr->nregions; i++) {
		const struct ckpt_region *r = &restart.regions[i];
		if (!region_loads_lazily(r))
			continue;
		for (uint32_t k = r->first_extent; k < r->first_extent + r->nextents; k++)
			if (ckpt_extent_stored(restart.extents[k].kind))
				restart.extents[k].kind = CKPT_EXTENT_HOLE;
	}
}

void lazy_start(void)
{
	if (!restart.lazy)
		return;
	if (!register_lazy_regions()) {
		sys_close(restart.lazy_fd);
		restart.lazy = 0; /* nothing to load lazily: libckpt waits for nothing */
		return;
	}
	long program = sys_pidfd_open((int)sys_getpid());
	if (program < 0)
		die("cannot open a pidfd of this process for the page server (--lazy)", program);
	int subreaper = 0;
	sys_prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&subreaper, 0, 0, 0);
	if (subreaper)
		sys_prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	long middle = clone_helper(0 /* no exit signal */);
	if (middle == 0) {
		long server = clone_helper(SIGCHLD);
		if (server == 0)
			serve_pages(restart.lazy_fd, (int)program);
		sys_exit_group(server < 0 ? 1 : 0);
	}
	int status = -1;
	if (middle > 0 && sys_wait4((int)middle, &status, WALL) != middle)
		status = -1;
	long err = subreaper ? sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) : 0;
	if (err < 0)
		die("cannot set the child-subreaper flag back", err);
	if (middle < 0 || status != 0)
		die("cannot start the page server (--lazy)", middle < 0 ? middle : 0);
	sys_close((int)program);
	sys_close(restart.lazy_fd);
	hand_over_extents();
}
