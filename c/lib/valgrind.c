/*
 * A program run under valgrind (`ckpt valgrind ./prog`): valgrind's
 * launcher execs its tool, a static program, and the tool runs the
 * program on a synthetic CPU, passing LD_PRELOAD on, so libckpt is loaded
 * into the guest and its handler gets the trigger. But the process is
 * valgrind's: /proc/self/maps, the threads and the registers the capture
 * would read are the tool's, not the program's, and stopping the guest's
 * threads the way threads.c does left the process dead after a refusal
 * (2026-12-03). So the checkpoint is refused before anything stops.
 *
 * How the guest knows: valgrind's client-request convention. A fixed
 * sequence of rotations of %rdi by 3, 13, 61 and 51 bits (128 in all:
 * on a real CPU %rdi is unchanged) followed by `xchg %rbx,%rbx` (a no-op)
 * is recognised by valgrind's translator, which then answers the request
 * whose words %rax points at into %rdx. Natively %rdx keeps the default
 * put there, 0. Request 0x1001 asks how many valgrinds deep we run.
 */
#include "ckpt_lib.h"

#define REQUEST_RUNNING_ON_VALGRIND 0x1001ul

static unsigned long valgrind_depth(void)
{
	volatile unsigned long request[6] = {REQUEST_RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0};
	unsigned long answer = 0;
	__asm__ volatile("rolq $3, %%rdi\n\trolq $13, %%rdi\n\trolq $61, %%rdi\n\trolq $51, %%rdi\n\t"
			 "xchgq %%rbx, %%rbx"
			 : "+d"(answer)
			 : "a"(&request[0])
			 : "cc", "memory");
	return answer;
}

int refuse_under_valgrind(struct capture *c)
{
	if (!valgrind_depth())
		return 0;
	return capture_fail(c, "the program runs under valgrind, whose process (its memory, threads and registers) "
			       "is not the program's; checkpoint it without valgrind",
			    0);
}
