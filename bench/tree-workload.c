/* The bench's process tree: P processes (argv[1]) of M MiB of dirty heap
 * each (argv[2]), the launched one and P-1 children it forks, so
 * "8 64" and "1 512" hold the same bytes, split or not. Each fills its heap
 * with a pattern of its own, the launched one prints "ready" once all have
 * (children report over a pipe, closed before the line: no pipe between
 * members is in the image), and each then sleeps; a checkpoint's signal
 * cuts the sleep short, so after a restart each checks its heap and prints
 * "alive K" (K its index, 0 the launched one), or exits 3 if it is wrong.
 * SIGHUP wakes them too (a sleep that was resumed rather than cut short);
 * it is blocked except while they wait, so one sent before the wait is not
 * lost. They run until killed. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static void on_hup(int sig) { (void)sig; }

static uint64_t pattern(size_t i, int index) { return (i + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)index << 56; }

static void fill(int index, uint64_t *heap, size_t words)
{
	for (size_t i = 0; i < words; i++)
		heap[i] = pattern(i, index);
}

static _Noreturn void live(int index, const uint64_t *heap, size_t words)
{
	sigset_t open;
	sigprocmask(SIG_BLOCK, 0, &open);
	sigdelset(&open, SIGHUP);
	for (;;) {
		struct timespec hour = {.tv_sec = 3600};
		syscall(SYS_ppoll, 0, 0, &hour, &open, 8); /* raw: libckpt's ppoll waits on through a checkpoint */
		for (size_t i = 0; i < words; i++)
			if (heap[i] != pattern(i, index))
				exit(3);
		printf("alive %d\n", index);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 8;
	size_t words = (argc > 2 ? (size_t)atol(argv[2]) : 64) << 20 >> 3;
	int ready[2];
	if (procs < 1 || pipe(ready))
		return 2;
	signal(SIGHUP, on_hup);
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &hup, 0);
	uint64_t *heap = malloc(words * 8);
	if (!heap)
		return 2;
	for (int k = 1; k < procs; k++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(ready[0]);
			fill(k, heap, words);
			/* One byte: "filled". */
			if (write(ready[1], "r", 1) != 1)
				return 4;
			close(ready[1]);
			live(k, heap, words);
		}
	}
	close(ready[1]);
	fill(0, heap, words);
	char byte;
	for (int k = 1; k < procs; k++)
		if (read(ready[0], &byte, 1) != 1)
			return 4;
	close(ready[0]);
	printf("ready\n");
	fflush(stdout);
	live(0, heap, words);
}
