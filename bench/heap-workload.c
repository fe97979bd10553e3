/* The benchmark's workload: N MiB of heap (argv[1]), of which T MiB
 * (argv[2], default all) are dirtied with a verifiable pattern, H idle
 * threads (argv[3], default none) and R one-page mappings (argv[4],
 * default none) whose protections alternate so that each stays a region
 * of its own, each with a pattern of its own checked with the heap; then a loop
 * that sleeps and, on waking, checks the pattern and prints "alive" (exit 3
 * if it is wrong). A checkpoint's signal cuts the sleep short, so a restart
 * shows its first output as soon as the program runs again.
 *
 * Signals it takes, each blocked except while it waits, so none is lost
 * between a check and the next wait:
 *   SIGHUP   wake now: check the pattern and print "alive" (a restored
 *            peer's sleep may be resumed rather than cut short).
 *   SIGUSR1  start a window of measuring the pause the program feels
 *            ("window N spinning"): a loop of clock reads, nothing else,
 *            keeping the longest interval (longest-gap.h); the next SIGUSR1
 *            or a SIGTERM ends it with "window N longest gap NS ns from T
 *            after R reads" (T: CLOCK_MONOTONIC ns at the start of that gap).
 *   SIGTERM  end any window, print it, exit 0. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "longest-gap.h"

static volatile sig_atomic_t toggles, terminate;

static void on_usr1(int sig) { (void)sig; toggles++; }
static void on_term(int sig) { (void)sig; terminate = 1; }
static void on_hup(int sig) { (void)sig; }

static void *idle_thread(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static uint64_t region_pattern(size_t i) { return (i + 1) * 0xbf58476d1ce4e5b9ull; }

/* One page each, filled before it may become read-only; 0 if one cannot be mapped. */
static uint64_t **map_regions(size_t n)
{
	uint64_t **pages = calloc(n + 1, sizeof *pages);
	for (size_t i = 0; pages && i < n; i++) {
		pages[i] = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages[i] == MAP_FAILED)
			return 0;
		pages[i][0] = region_pattern(i);
		mprotect(pages[i], 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE);
	}
	return pages;
}

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One window: spins with the signals open until the next SIGUSR1 or SIGTERM. */
static void measure_window(int window, const sigset_t *open)
{
	sig_atomic_t started = toggles;
	struct longest_gap g;
	sigset_t blocked;
	sigprocmask(SIG_SETMASK, open, &blocked);
	/* Begun before the line goes out: whoever reads it knows the window is open. */
	gap_begin(&g, monotonic_ns());
	printf("window %d spinning\n", window);
	fflush(stdout);
	while (toggles == started && !terminate)
		gap_note(&g, monotonic_ns());
	gap_note(&g, monotonic_ns()); /* a pause that ended with the window counts too */
	sigprocmask(SIG_SETMASK, &blocked, 0);
	printf("window %d longest gap %llu ns from %llu after %llu reads\n", window, (unsigned long long)g.longest_ns,
	       (unsigned long long)g.from_ns, (unsigned long long)g.reads);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64;
	size_t touched = argc > 2 ? (size_t)atol(argv[2]) : mib;
	size_t threads = argc > 3 ? (size_t)atol(argv[3]) : 0;
	size_t regions = argc > 4 ? (size_t)atol(argv[4]) : 0;
	size_t words = touched << 17;
	uint64_t *heap = malloc(mib << 20);
	uint64_t **pages = map_regions(regions);
	if (!heap || !pages)
		return 2;
	for (size_t i = 0; i < words; i++)
		heap[i] = i * 0x9e3779b97f4a7c15ull;

	sigset_t ours, open;
	sigemptyset(&ours);
	sigaddset(&ours, SIGUSR1);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGTERM);
	sigprocmask(SIG_BLOCK, &ours, &open);
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, 0);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, 0);

	/* Made with our signals blocked, which they inherit: none of them is taken by a thread. */
	pthread_attr_t small;
	pthread_attr_init(&small);
	pthread_attr_setstacksize(&small, 64 << 10);
	for (size_t i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &small, idle_thread, 0))
			return 2;
	}

	printf("ready\n");
	fflush(stdout);
	int window = 0;
	for (;;) {
		struct timespec ts = {30, 0};
		sig_atomic_t seen = toggles;
		/* Returns early on any signal, ckpt's too: the raw call, since
		 * libckpt's wrappers wait on through a checkpoint's EINTR. */
		syscall(SYS_ppoll, 0, 0, &ts, &open, 8);
		if (toggles != seen && toggles % 2 == 1)
			measure_window(++window, &open);
		if (terminate)
			return 0;
		for (size_t i = 0; i < words; i += 4096)
			if (heap[i] != i * 0x9e3779b97f4a7c15ull)
				return 3;
		for (size_t i = 0; i < regions; i++)
			if (pages[i][0] != region_pattern(i))
				return 3;
		printf("alive\n");
		fflush(stdout);
	}
}
