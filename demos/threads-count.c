/* N threads (default 8, up to 64) count in thread-local variables for R
 * rounds (default 10), meeting at a barrier after each; the main thread
 * checks every count and that each thread's TLS is still where it was.
 * Also checks, each round, that gettid() in each thread matches what glibc
 * believes (pthread_kill to itself reaches the right thread). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static __thread uint64_t counter;
static __thread volatile int got_signal;
static int nthreads, rounds;
static pthread_barrier_t barrier;
static uint64_t published[64];
static uint64_t *where[64];
static int tid_ok[64];

static void on_usr1(int sig) { (void)sig; got_signal++; }

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	where[id] = &counter;
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 1000; k++)
			counter += (uint64_t)(id + 1);
		usleep(50000 + 1000 * id);
		int before = got_signal;
		pthread_kill(pthread_self(), SIGUSR1); /* glibc's cached tid must be right */
		tid_ok[id] = got_signal == before + 1 && where[id] == &counter;
		published[id] = counter;
		pthread_barrier_wait(&barrier);
		pthread_barrier_wait(&barrier);
	}
	return (void *)(intptr_t)(id * 3);
}

int main(int argc, char **argv)
{
	nthreads = argc > 1 ? atoi(argv[1]) : 8;
	rounds = argc > 2 ? atoi(argv[2]) : 10;
	if (nthreads < 1 || nthreads > 64)
		return 2;
	signal(SIGUSR1, on_usr1);
	pthread_t t[64];
	pthread_barrier_init(&barrier, 0, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], 0, worker, (void *)(intptr_t)i);
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&barrier);
		int ok = 1;
		for (int i = 0; i < nthreads; i++)
			ok &= published[i] == (uint64_t)(i + 1) * 1000 * (uint64_t)(r + 1) && tid_ok[i];
		printf("round %d: %d threads %s\n", r, nthreads, ok ? "ok" : "WRONG");
		fflush(stdout);
		pthread_barrier_wait(&barrier);
	}
	int joined = 0;
	for (int i = 0; i < nthreads; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		joined += (intptr_t)ret == i * 3;
	}
	printf("joined %d of %d\n", joined, nthreads);
	return joined == nthreads ? 0 : 1;
}
