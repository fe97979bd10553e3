/*
 * Resource limits (setrlimit): both the soft and the hard value of each,
 * as the program had them. A program that lowered a hard limit for good
 * (RLIMIT_CORE to 0, as gpg-agent does, so its secrets never reach a core
 * file; a sandbox's RLIMIT_NOFILE or RLIMIT_NPROC) must not come back with
 * the restart's, nor one that raised a soft limit up to its hard one with
 * less than it asked.
 *
 * Lowering a hard limit needs no right; raising one needs
 * CAP_SYS_RESOURCE in the first user namespace (and RLIMIT_NOFILE stays
 * under fs.nr_open). Phase 1 (check_limits) raises each hard limit the
 * image has above the restart's, so a refusal is clean and names the
 * limit; a raised hard limit changes nothing else. The program's values
 * are set once every thread, timer and pending signal exists
 * (restore_limits): the stub's own work must not run under the program's
 * limits, which may be lower than what it took to get there (a soft
 * RLIMIT_NPROC below the user's process count on this machine, a
 * RLIMIT_SIGPENDING that the timers and signals count against).
 */
#include "stub.h"
#include "../sys.h"

/* An array of arrays, not of pointers: the stub runs unrelocated. */
static const char limit_names[CKPT_MAX_RLIMITS][18] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
	"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static void line_limit(struct line *l, uint64_t v)
{
	if (v == ~0ull)
		line_str(l, "unlimited");
	else
		line_u64(l, v);
}

void check_limits(const struct ckpt_header *h)
{
	for (int r = 0; r < CKPT_MAX_RLIMITS; r++) {
		const struct ckpt_rlimit *want = &h->rlimits[r];
		struct ckpt_rlimit now;
		if (sys_prlimit(r, 0, &now) < 0 || want->max <= now.max)
			continue;
		struct ckpt_rlimit raised = {now.cur, want->max};
		long err = sys_prlimit(r, &raised, 0);
		if (err >= 0)
			continue;
		struct line l = {.len = 0};
		line_str(&l, "the program's hard ");
		line_str(&l, limit_names[r]);
		line_str(&l, " was ");
		line_limit(&l, want->max);
		line_str(&l, ", this restart's is ");
		line_limit(&l, now.max);
		line_str(&l, " and it may not raise it (CAP_SYS_RESOURCE");
		line_str(&l, r == 7 ? "; fs.nr_open): " : "): ");
		line_str(&l, errno_text(err));
		die_line(&l);
	}
}

void restore_limits(const struct ckpt_header *h)
{
	for (int r = 0; r < CKPT_MAX_RLIMITS; r++) {
		long err = sys_prlimit(r, &h->rlimits[r], 0);
		if (err < 0)
			die("cannot set a resource limit again", err);
	}
}
