/*
 * State a process can hold that ckpt cannot bring back: Linux AIO contexts
 * (io_setup; a restart would silently lose them, the next io_submit failing
 * with EINVAL), io_uring instances no descriptor or mapping shows, and KSM for the whole process (PR_SET_MEMORY_MERGE: each
 * region's own flag comes back, but memory mapped after a restart would
 * silently not be merged), and seccomp filters the program installed
 * itself (seccomp.c). The checkpoint is refused, naming them, and the
 * program runs on. libckpt's own AIO context (image_writer.c)
 * exists only while the image is being written, after this check. (POSIX
 * timers are restored: capture_timers.c.)
 */
#include "ckpt_lib.h"
#include "seccomp.h"
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

/* An io_uring set up with IORING_SETUP_REGISTERED_FD_ONLY (and its rings in
 * the program's own memory, IORING_SETUP_NO_MMAP), or whose fd was closed
 * after io_uring_register(IORING_REGISTER_RING_FDS), lives on in a
 * thread's table of registered rings: no fd, no mapping of its own. Only
 * the thread itself can see it, by entering the ring at each index; EINVAL
 * means it has no io_uring context at all (or the kernel predates
 * registered rings), EBADF an empty slot. Entering with nothing to submit
 * or wait for has no effect on the ring. */
#define IORING_ENTER_REGISTERED_RING_ (1u << 4)
#define IO_RINGFD_REG_MAX_ 16

void note_registered_rings(void)
{
	for (unsigned i = 0; i < IO_RINGFD_REG_MAX_; i++) {
		long rc = sys_io_uring_enter(i, 0, 0, IORING_ENTER_REGISTERED_RING_);
		if (rc == -22 /* EINVAL */ || rc == -38 /* ENOSYS */ || rc == -1 /* EPERM: disabled */)
			return;
		if (rc != -9 /* EBADF */) {
			int32_t none = 0;
			__atomic_compare_exchange_n(&ckpt_sync.registered_ring_tid, &none, (int32_t)sys_gettid(), 0,
						    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
			return;
		}
	}
}

static int refuse_registered_rings(struct capture *c)
{
	int32_t tid = __atomic_load_n(&ckpt_sync.registered_ring_tid, __ATOMIC_ACQUIRE);
	if (!tid)
		return 0;
	capture_fail(c, "thread ", 0);
	line_u64(&c->error, (uint64_t)tid);
	line_str(&c->error, " holds an io_uring by a registered index (IORING_REGISTER_RING_FDS or "
			    "IORING_SETUP_REGISTERED_FD_ONLY), which cannot be restored; checkpoint once it is unregistered");
	return -1;
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
	return refuse_aio(c) || refuse_registered_rings(c) || refuse_memory_merge(c) || refuse_own_seccomp(c) ? -1 : 0;
}
