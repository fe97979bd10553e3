/* The pause a program feels: the longest interval between two consecutive
 * clock reads of a loop that does nothing else. Whatever stops the loop
 * (a signal handler, a fork in it, the scheduler giving the core away)
 * shows up as one long interval. Kept apart from the workload so a unit
 * test can feed it made-up clock readings (test/c/longest_gap_test.c). */
#ifndef LONGEST_GAP_H
#define LONGEST_GAP_H
#include <stdint.h>

struct longest_gap {
	uint64_t prev_ns;    /* the last reading */
	uint64_t longest_ns; /* the longest interval seen so far */
	uint64_t from_ns;    /* the reading that began it */
	uint64_t reads;
};

static inline void gap_begin(struct longest_gap *g, uint64_t now_ns)
{
	g->prev_ns = g->from_ns = now_ns;
	g->longest_ns = 0;
	g->reads = 1;
}

/* A reading earlier than the last (not from CLOCK_MONOTONIC) counts as no
 * interval rather than as an enormous unsigned one. */
static inline void gap_note(struct longest_gap *g, uint64_t now_ns)
{
	uint64_t d = now_ns > g->prev_ns ? now_ns - g->prev_ns : 0;
	if (d > g->longest_ns) {
		g->longest_ns = d;
		g->from_ns = g->prev_ns;
	}
	if (now_ns > g->prev_ns)
		g->prev_ns = now_ns;
	g->reads++;
}
#endif
