/* A producer and three consumers over a bounded queue guarded by a mutex
 * and two condition variables. Every item must be consumed exactly once,
 * across any number of checkpoints and restarts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define QUEUE 16
#define CONSUMERS 3

static int items;
static int queue[QUEUE], head, tail, count, done;
static unsigned char *seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < items; i++) {
		pthread_mutex_lock(&lock);
		while (count == QUEUE)
			pthread_cond_wait(&not_full, &lock);
		queue[tail] = i, tail = (tail + 1) % QUEUE, count++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&lock);
		if ((i + 1) % 100 == 0) {
			printf("produced %d\n", i + 1);
			fflush(stdout);
		}
		usleep(1000);
	}
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&lock);
	return 0;
}

static void *consumer(void *arg)
{
	long mine = 0;
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (count == 0 && !done)
			pthread_cond_wait(&not_empty, &lock);
		if (count == 0 && done) {
			pthread_mutex_unlock(&lock);
			return (void *)mine;
		}
		int item = queue[head];
		head = (head + 1) % QUEUE, count--;
		seen[item]++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&lock);
		mine++;
	}
}

int main(int argc, char **argv)
{
	items = argc > 1 ? atoi(argv[1]) : 2000;
	seen = calloc((size_t)items, 1);
	pthread_t p, c[CONSUMERS];
	pthread_create(&p, 0, producer, 0);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_create(&c[i], 0, consumer, 0);
	pthread_join(p, 0);
	long total = 0;
	for (int i = 0; i < CONSUMERS; i++) {
		void *n;
		pthread_join(c[i], &n);
		total += (long)n;
	}
	int once = 1;
	for (int i = 0; i < items; i++)
		once &= seen[i] == 1;
	printf("consumed %ld of %d items, %s\n", total, items, once ? "each exactly once" : "LOST OR DUPLICATED");
	return once && total == items ? 0 : 1;
}
