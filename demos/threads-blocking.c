/* Threads caught in blocking calls and with signals blocked: a reader
 * asleep in read() on a pipe, a poller in poll() (retrying on EINTR), and a
 * worker that blocks every signal it can. The main thread feeds both pipes
 * one byte per step and prints what each thread has seen: after a restart
 * nothing is lost, duplicated, or stuck. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static int to_reader[2], to_poller[2];
static volatile int reader_sum, poller_sum, worker_ticks;

static void *reader(void *arg)
{
	(void)arg;
	char c;
	for (;;) {
		ssize_t n = read(to_reader[0], &c, 1);
		if (n == 1) {
			if (c == 'q')
				return 0;
			reader_sum += c - '0';
		} else if (n < 0 && errno != EINTR) {
			return 0;
		}
	}
}

static void *poller(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = {to_poller[0], POLLIN, 0};
		int n = poll(&p, 1, 5000);
		if (n < 0 && errno == EINTR)
			continue;
		char c;
		if (n == 1 && read(to_poller[0], &c, 1) == 1) {
			if (c == 'q')
				return 0;
			poller_sum += c - '0';
		}
	}
}

static void *worker(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, 0);
	while (worker_ticks >= 0) {
		worker_ticks++;
		usleep(5000);
	}
	return 0;
}

int main(void)
{
	pipe(to_reader);
	pipe(to_poller);
	pthread_t t[3];
	pthread_create(&t[0], 0, reader, 0);
	pthread_create(&t[1], 0, poller, 0);
	pthread_create(&t[2], 0, worker, 0);
	int want = 0;
	for (int i = 0; i < 12; i++) {
		char c = (char)('0' + i % 10);
		want += i % 10;
		write(to_reader[1], &c, 1);
		write(to_poller[1], &c, 1);
		usleep(150000);
		/* Give a slow machine time to catch up; only a lost byte stays behind. */
		for (int k = 0; k < 5000 && (reader_sum != want || poller_sum != want); k++)
			usleep(1000);
		printf("step %d: reader %s, poller %s, worker %s\n", i, reader_sum == want ? "ok" : "BEHIND",
		       poller_sum == want ? "ok" : "BEHIND", worker_ticks > 0 ? "running" : "STUCK");
		fflush(stdout);
	}
	write(to_reader[1], "q", 1);
	write(to_poller[1], "q", 1);
	worker_ticks = -1000000;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	printf("all joined\n");
	return 0;
}
