/* Reads the clocks through the vDSO in a loop: after a restart they must
 * still work (the vDSO moved to its old address) and never run backwards. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	double real = now(CLOCK_REALTIME);
	for (int i = 0; i < 10; i++) {
		struct timeval tv;
		gettimeofday(&tv, 0);
		double r = now(CLOCK_REALTIME), m = now(CLOCK_MONOTONIC);
		/* time() reads the coarse clock, up to a tick behind CLOCK_REALTIME:
		 * right after a second boundary it may still name the one before. */
		int ok = r >= real && m > 0 && tv.tv_sec >= (time_t)real - 1 && time(0) >= (time_t)real - 1;
		printf("tick %d %s\n", i, ok ? "ok" : "CLOCK WENT WRONG");
		fflush(stdout);
		real = r;
		usleep(200000);
	}
	return 0;
}
