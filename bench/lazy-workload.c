/* bench/lazy.ts's workload: N MiB of heap (argv[1]) filled with a pattern,
 * then a wait that only a signal ends (ppoll with SIGUSR2 let through, so
 * the checkpoint's signal always ends it with EINTR). After a restart it
 * prints "first" at once, touching nothing, then reads one word in the
 * middle of the heap and prints "one" (a lazy restart's first touch: it
 * waits for that word's extent), then reads every word of the heap and
 * prints "touched" with the pattern's verdict, and exits 0, or 3 if the
 * heap is wrong. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t words = (size_t)atol(argc > 1 ? argv[1] : "1024") << 17;
	uint64_t *heap = malloc(words * 8);
	if (!heap)
		return 2;
	for (size_t i = 0; i < words; i++)
		heap[i] = i * 0x9E3779B97F4A7C15ull;
	sigset_t usr2, during;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	/* The raw call: libckpt would warn about a program blocking its trigger. */
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &usr2, &during, 8);
	sigdelset(&during, SIGUSR2);
	printf("ready\n");
	fflush(stdout);
	/* Raw: libckpt's ppoll would wait on through the checkpoint's EINTR. */
	syscall(SYS_ppoll, NULL, 0, NULL, &during, 8);
	printf("first\n");
	fflush(stdout);
	int ok = heap[words / 2] == words / 2 * 0x9E3779B97F4A7C15ull;
	printf("one\n");
	fflush(stdout);
	for (size_t i = 0; i < words; i++)
		ok &= heap[i] == i * 0x9E3779B97F4A7C15ull;
	printf("touched %s\n", ok ? "ok" : "WRONG");
	return ok ? 0 : 3;
}
