/* The known limit of new thread ids: an error-checking mutex records its
 * owner's tid. Locked before the checkpoint and unlocked after a restart,
 * the unlock fails with EPERM (the tid changed). A normal mutex is fine.
 * Prints what happens so the test can show exactly that. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_t checked, plain = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_init(&checked, &a);
	pthread_mutex_lock(&checked);
	pthread_mutex_lock(&plain);
	for (int i = 0; i < 6; i++) {
		printf("holding both, step %d\n", i);
		fflush(stdout);
		usleep(150000);
	}
	int e1 = pthread_mutex_unlock(&checked), e2 = pthread_mutex_unlock(&plain);
	printf("error-checking unlock: %s\nnormal unlock: %s\n", e1 ? strerror(e1) : "ok", e2 ? strerror(e2) : "ok");
	return 0;
}
