/* A timer_create(SIGEV_THREAD) timer, as vim uses one: its callback counts
 * ticks. glibc would serve it from a helper thread that blocks every
 * signal, so no checkpoint could stop it; under ckpt the timer has a
 * thread of its own that stops like the others. At step 15 the timer is
 * deleted, which must end that thread (after a restart too, when its
 * thread id has changed): the program then reports its thread count. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks;

static void tick(union sigval v)
{
	(void)v;
	ticks++;
}

static int threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = tick;
	timer_t id;
	if (timer_create(CLOCK_MONOTONIC, &ev, &id) != 0) {
		perror("timer_create");
		return 2;
	}
	struct itimerspec every = {{0, 20000000}, {0, 20000000}};
	timer_settime(id, 0, &every, 0);
	for (int i = 0; i < 20; i++) {
		printf("step %d: ticks %s, %d threads\n", i, ticks ? "counting" : "none yet", threads());
		fflush(stdout);
		if (i == 15) {
			timer_delete(id);
			int n = threads();
			for (int k = 0; k < 1000 && n > 1; k++, n = threads())
				usleep(1000);
			printf("after delete: %d threads\n", n);
			fflush(stdout);
		}
		usleep(100000);
	}
	return 0;
}
