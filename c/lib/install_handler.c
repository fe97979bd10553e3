/* Installing libckpt's two handlers: the checkpoint trigger's (handler.c)
 * and the thread stop signal's (threads.c). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include "ckpt_lib.h"

/* Go's runtime runs goroutines on stacks of a few KiB with no guard page,
 * gives each of its threads a 32 KiB signal stack, and installs every
 * handler of its own with SA_ONSTACK: a handler run on a goroutine's stack
 * would write past its end into the heap. Ours use up to about 16 KiB
 * (docs/performance.md), so in a Go program they run on that signal stack.
 * Anywhere else they stay on the thread's own stack: a program's alternate
 * stack may be as small as MINSIGSTKSZ, sized for its own handler. A Go
 * program that loads libckpt is one linked with cgo; x_cgo_init is its
 * runtime's entry into the C side, exported by every such program. */
static int in_go_program(void)
{
	return dlsym(RTLD_DEFAULT, "x_cgo_init") != 0;
}

/* Both of libckpt's handlers run with every signal blocked, so nothing in
 * the program changes memory under a capture; `but` stays deliverable. */
int install_handler(int sig, void (*fn)(int, siginfo_t *, void *), int but)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | (in_go_program() ? SA_ONSTACK : 0);
	/* Every bit, not sigfillset: musl's leaves out its own 32-34. */
	__builtin_memset(&sa.sa_mask, 0xff, 8);
	if (but)
		sigdelset(&sa.sa_mask, but);
	return libc_sigaction(sig, &sa, 0);
}
