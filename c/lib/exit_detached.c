/*
 * A stopping checkpoint's exit, without making whoever waits for the
 * program (a batch system, a shell) wait for the kernel to free its
 * memory as well: that took 50-190 ms after the image was durable
 * (docs/performance.md), most of it freeing the pages of a large heap.
 *
 * exit_group frees the address space (and the asynchronous I/O context
 * with it) in exit_mm only when the exiting tasks hold the last
 * reference to it, and reports the exit to the parent afterwards. A child
 * sharing the memory (CLONE_VM) holds a reference: with it alive, the
 * exit is reported at once, and the child, killed by its parent's death
 * (PR_SET_PDEATHSIG, sent after exit_mm), frees the memory on its own time,
 * on any core. It closes its copy of the descriptor table before the
 * program exits, so no pipe or socket stays open past the program, and it
 * is orphaned with exit signal 0 like the background writer, so the
 * program's parent never sees it; init reaps it.
 *
 * The child's reference keeps the executable busy as well: the kernel lets
 * writes to it again (ETXTBSY until then) only once the memory is freed. So
 * the child is made only where freeing is worth hiding, DETACH_MIN_BYTES of
 * memory or more (tens of milliseconds, docs/performance.md); a smaller
 * program frees its memory in its own exit, as fast, and whoever rewrites or
 * appends to the executable right after the exit finds it free.
 *
 * If the child cannot be made or does not answer, the exit is as before.
 */
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "../sys.h"

#define HOLDER_STACK (16u << 10)
#define DETACH_MIN_BYTES (32ull << 20)

static void holder_main(void *arg)
{
	uint32_t *ready = arg;
	sys_close_range(0, ~0u);
	sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Set before the program can exit (it waits for this), so the signal cannot be missed. */
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	sys_futex(ready, FUTEX_WAKE_PRIVATE, 1, 0);
	for (;;)
		SYS0(__NR_pause);
}

uint64_t memory_in_pages(const struct capture *c)
{
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < c->nextents; k++)
		if (c->extents[k].kind == CKPT_EXTENT_DATA || c->extents[k].kind == CKPT_EXTENT_PARENT)
			bytes += c->extents[k].len;
	return bytes;
}

void exit_leaving_teardown(int status, uint64_t memory_bytes)
{
	uint32_t ready = 0; /* on our stack: the child shares our memory, and we wait here */
	if (memory_bytes < DETACH_MIN_BYTES)
		sys_exit_group(status);
	long stack = sys_mmap(0, HOLDER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack >= 0 && clone_vm_on_stack((char *)stack + HOLDER_STACK, holder_main, &ready) > 0) {
		const struct timespec wait = {0, 250 * 1000 * 1000};
		/* A second at most: a holder that never answers must not keep the program from ending. */
		for (int tries = 0; tries < 4 && !__atomic_load_n(&ready, __ATOMIC_ACQUIRE); tries++)
			sys_futex(&ready, FUTEX_WAIT_PRIVATE, 0, &wait);
	}
	sys_exit_group(status);
	__builtin_unreachable();
}
