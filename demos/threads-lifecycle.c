/* Threads that exit and are joined at different times, then new threads
 * created and joined: wherever the checkpoint falls, threads that had
 * exited leave nothing behind, joins of threads that exit after restart
 * return, and threads created after restart work. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	usleep((useconds_t)(intptr_t)arg * 1000);
	return arg;
}

int main(void)
{
	for (int wave = 0; wave < 6; wave++) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], 0, sleeper, (void *)(intptr_t)(50 + 60 * i));
		int ok = 0;
		for (int i = 0; i < 4; i++) {
			void *r;
			pthread_join(t[i], &r);
			ok += (intptr_t)r == 50 + 60 * i;
		}
		printf("wave %d: joined %d of 4\n", wave, ok);
		fflush(stdout);
		usleep(100000);
	}
	return 0;
}
