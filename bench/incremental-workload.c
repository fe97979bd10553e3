/* The incremental-image benchmark's workload: a heap of N MiB (argv[1]),
 * every page written once, then it waits for signals, each blocked except
 * while it waits:
 *   SIGHUP   dirty D MiB (argv[2], default 16) of scattered pages, a
 *            different set each time; prints "dirtied N".
 *   SIGWINCH one write-heavy pass over the whole heap (a word every 64
 *            bytes); prints "pass NS ns".
 *   SIGUSR1  open or close a window measuring the longest gap of a loop
 *            that only reads the clock (longest-gap.h), as heap-workload.c.
 *   SIGTERM  exit.
 * After a restart it checks every page and prints "alive" (exit 3 if a
 * page is wrong). It tells a restart by its process's start time, not its
 * pid: a restart gives the old pid back (in a pid namespace), and a
 * program that waited for a new one waited for ever. A checkpoint taken
 * inside a window resumes in the window's loop, which looks at the start
 * time only after a gap of a millisecond or more (a restart is one), so
 * the loop stays a loop of clock reads. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "longest-gap.h"
#include "../test/fixtures/restart_mark.h"

static volatile sig_atomic_t dirty, pass, toggles, terminate;
static void on_hup(int s) { (void)s; dirty++; }
static void on_winch(int s) { (void)s; pass++; }
static void on_usr1(int s) { (void)s; toggles++; }
static void on_term(int s) { (void)s; terminate = 1; }

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t *heap;
/* Per page, the round that last wrote it. Two bytes, not eight: writing it
 * is part of every dirtied page's cost, and at eight bytes a page this
 * bookkeeping alone dirtied 2 MiB of scattered pages a round next to the
 * 16 MiB the bench means to dirty (a run has far fewer than 65,536 rounds). */
static uint16_t *round_of;
static size_t pages;

static uint64_t word(size_t page, uint64_t round) { return (page * 0x9e3779b97f4a7c15ull) ^ (round << 40); }

static void write_page(size_t p, uint64_t round)
{
	for (size_t w = 0; w < 512; w += 8)
		heap[p * 512 + w] = word(p, round);
	round_of[p] = (uint16_t)round;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024, dirty_mib = argc > 2 ? (size_t)atol(argv[2]) : 16;
	pages = mib << 8;
	heap = malloc(mib << 20);
	round_of = calloc(pages, sizeof *round_of);
	if (!heap || !round_of)
		return 2;
	for (size_t p = 0; p < pages; p++)
		write_page(p, 1);
	sigset_t ours, open;
	sigemptyset(&ours);
	int sigs[] = {SIGHUP, SIGWINCH, SIGUSR1, SIGTERM};
	void (*fns[])(int) = {on_hup, on_winch, on_usr1, on_term};
	struct sigaction sa = {0};
	for (int i = 0; i < 4; i++) {
		sigaddset(&ours, sigs[i]);
		sa.sa_handler = fns[i];
		sigaction(sigs[i], &sa, 0);
	}
	sigprocmask(SIG_BLOCK, &ours, &open);
	unsigned long long started = process_start_time();
	uint64_t round = 1, windows = 0;
	sig_atomic_t seen_dirty = 0, seen_pass = 0, seen_toggles = 0;
	printf("ready\n");
	fflush(stdout);
	while (!terminate) {
		if (process_start_time() == started) /* a restart resumes in a window's loop, or here */
			sigsuspend(&open);
		if (process_start_time() != started) {
			started = process_start_time();
			for (size_t p = 0; p < pages; p++)
				if (heap[p * 512] != word(p, round_of[p]))
					return 3;
			printf("alive\n");
			fflush(stdout);
		}
		while (seen_dirty != dirty) {
			seen_dirty++, round++;
			size_t n = dirty_mib << 8;
			for (size_t k = 0; k < n; k++)
				write_page((k * 7919 + round * 104729) % pages, round);
			printf("dirtied %llu\n", (unsigned long long)round);
			fflush(stdout);
		}
		while (seen_pass != pass) {
			seen_pass++;
			uint64_t t = monotonic_ns();
			for (size_t i = 0; i < pages * 512; i += 8)
				((volatile uint64_t *)heap)[i + 1]++; /* every cache line, not the checked words */
			printf("pass %llu ns\n", (unsigned long long)(monotonic_ns() - t));
			fflush(stdout);
		}
		if (seen_toggles != toggles) {
			seen_toggles = toggles;
			struct longest_gap g;
			sigprocmask(SIG_SETMASK, &open, 0);
			gap_begin(&g, monotonic_ns());
			printf("window %llu spinning\n", (unsigned long long)++windows);
			fflush(stdout);
			for (uint64_t last = monotonic_ns(); toggles == seen_toggles && !terminate;) {
				uint64_t t = monotonic_ns();
				gap_note(&g, t);
				if (t - last >= 1000000 && process_start_time() != started)
					break;
				last = t;
			}
			gap_note(&g, monotonic_ns());
			sigprocmask(SIG_BLOCK, &ours, 0);
			seen_toggles = toggles;
			printf("window %llu longest gap %llu ns\n", (unsigned long long)windows, (unsigned long long)g.longest_ns);
			fflush(stdout);
		}
	}
	return 0;
}
