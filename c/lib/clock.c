/* Time for the image's timestamps and for the cost of a checkpoint we
 * report, by raw syscall like everything in the signal path. */
#include "ckpt_lib.h"
#include "../sys.h"

uint64_t now_ns(int clock)
{
	struct { int64_t sec, nsec; } ts = {0, 0};
	sys_clock_gettime(clock, &ts);
	return (uint64_t)(ts.sec * 1000000000 + ts.nsec);
}

uint64_t monotonic_ns(void)
{
	return now_ns(1 /* CLOCK_MONOTONIC */);
}
