/* Threads born unusually: one on a stack the program allocated itself
 * (pthread_attr_setstack), one created from inside a signal handler. Both
 * count in thread-local variables; the main thread prints their progress. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread long mine;
static volatile long custom_count, handler_count;
static pthread_t from_handler;
static volatile sig_atomic_t created;

static void *count_into(void *arg)
{
	volatile long *out = arg;
	for (int i = 0; i < 200; i++) {
		mine++;
		*out = mine;
		usleep(10000);
	}
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
	/* Not async-signal-safe by the letter, but common in real programs. */
	created = pthread_create(&from_handler, 0, count_into, (void *)&handler_count) == 0;
}

int main(void)
{
	size_t size = 256 * 1024;
	void *stack = malloc(size);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, size);
	pthread_t custom;
	pthread_create(&custom, &attr, count_into, (void *)&custom_count);
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	for (int i = 0; i < 10; i++) {
		usleep(150000);
		printf("step %d: both threads counting: %s\n", i,
		       created && custom_count > 0 && handler_count > 0 ? "yes" : "NO");
		fflush(stdout);
	}
	pthread_join(custom, 0);
	pthread_join(from_handler, 0);
	printf("custom %ld, from handler %ld\n", custom_count, handler_count);
	return 0;
}
