/* The benchmark's longest-gap tracker (bench/longest-gap.h) on made-up
 * clock readings: the longest interval and where it began, ties keep the
 * first, and a reading that goes backwards is no interval. */
#include <stdio.h>
#include "../../bench/longest-gap.h"

static int passed, failed;

static void expect(int ok, const char *what)
{
	if (ok)
		passed++;
	else
		failed++, printf("FAIL: %s\n", what);
}

static struct longest_gap run(const uint64_t *t, int n)
{
	struct longest_gap g;
	gap_begin(&g, t[0]);
	for (int i = 1; i < n; i++)
		gap_note(&g, t[i]);
	return g;
}

int main(void)
{
	const uint64_t steady[] = {100, 110, 120, 130};
	struct longest_gap g = run(steady, 4);
	expect(g.longest_ns == 10 && g.from_ns == 100 && g.reads == 4, "steady readings: 10 from the first");

	const uint64_t one_pause[] = {1000, 1001, 1002, 5002, 5003};
	g = run(one_pause, 5);
	expect(g.longest_ns == 4000 && g.from_ns == 1002, "one pause of 4000 from 1002");

	const uint64_t two_equal[] = {0, 50, 51, 101};
	g = run(two_equal, 4);
	expect(g.longest_ns == 50 && g.from_ns == 0, "equal pauses: the first is kept");

	const uint64_t last_is_longest[] = {7, 8, 9, 1000009};
	g = run(last_is_longest, 4);
	expect(g.longest_ns == 1000000 && g.from_ns == 9, "the pause at the end counts");

	const uint64_t backwards[] = {500, 400, 510, 520};
	g = run(backwards, 4);
	expect(g.longest_ns == 10 && g.from_ns == 500, "a reading that goes back is no interval, and the next is measured from the latest");

	const uint64_t single[] = {42};
	g = run(single, 1);
	expect(g.longest_ns == 0 && g.from_ns == 42 && g.reads == 1, "one reading: no interval");

	const uint64_t big[] = {0, 1ull << 40, (1ull << 40) + 1};
	g = run(big, 3);
	expect(g.longest_ns == 1ull << 40, "intervals past 32 bits");

	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
