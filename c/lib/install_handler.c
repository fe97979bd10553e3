/* Installing libckpt's two handlers: the checkpoint trigger's (handler.c)
 * and the thread stop signal's (threads.c). */
#include <signal.h>
#include "ckpt_lib.h"

/* Both of libckpt's handlers run with every signal blocked, so nothing in
 * the program changes memory under a capture; `but` stays deliverable. */
int install_handler(int sig, void (*fn)(int, siginfo_t *, void *), int but)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	/* Every bit, not sigfillset: musl's leaves out its own 32-34. */
	__builtin_memset(&sa.sa_mask, 0xff, 8);
	if (but)
		sigdelset(&sa.sa_mask, but);
	return libc_sigaction(sig, &sa, 0);
}
