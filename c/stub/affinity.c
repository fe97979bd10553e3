/*
 * Each thread's CPU affinity, as sched_getaffinity showed it to the program
 * (the mask it was launched under included: `taskset -c 1 ckpt ./a.out`
 * comes back on CPU 1 wherever the restart runs). The restart's own mask
 * says only which CPUs may be used here, a cgroup cpuset, taskset or fewer
 * CPUs narrowing it; the kernel would quietly drop a CPU outside it from a
 * mask it is given, so such an image is refused in phase 1 instead, naming
 * the thread and its CPUs. `ckpt restart --ignore-affinity` (in the
 * environment as CKPT_IGNORE_AFFINITY) leaves every thread on the
 * restart's CPUs instead, as on a Slurm node whose CPU numbers are not the
 * first run's.
 */
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

/* CPUs as taskset prints them: "0-3,6". */
static void line_cpus(struct line *l, const uint8_t mask[CKPT_AFFINITY_BYTES])
{
	const char *sep = "";
	for (int cpu = 0; cpu < CKPT_AFFINITY_BYTES * 8; cpu++) {
		if (!(mask[cpu / 8] >> (cpu % 8) & 1))
			continue;
		int last = cpu;
		while (last + 1 < CKPT_AFFINITY_BYTES * 8 && mask[(last + 1) / 8] >> ((last + 1) % 8) & 1)
			last++;
		line_str(l, sep);
		line_u64(l, (uint64_t)cpu);
		if (last > cpu) {
			line_str(l, last > cpu + 1 ? "-" : ",");
			line_u64(l, (uint64_t)last);
		}
		sep = ",";
		cpu = last;
	}
}

static void refuse_thread(const struct ckpt_thread *t, uint32_t index, const char *why,
			  const uint8_t missing[CKPT_AFFINITY_BYTES], const uint8_t allowed[CKPT_AFFINITY_BYTES])
{
	struct line l = {.len = 0};
	line_str(&l, "thread ");
	line_u64(&l, (uint64_t)t->tid);
	line_str(&l, " (#");
	line_u64(&l, index);
	line_str(&l, why);
	if (missing) {
		line_cpus(&l, t->affinity);
		line_str(&l, ", and this restart may not use CPU ");
		line_cpus(&l, missing);
		line_str(&l, " (it may use ");
		line_cpus(&l, allowed);
		line_str(&l, "); restart where those CPUs are allowed, or with --ignore-affinity to run every "
			     "thread on this restart's CPUs");
	}
	die_line(&l);
}

void check_affinity(const struct ckpt_header *h, const char *tables, char **envp)
{
	for (char **env = envp; *env; env++)
		if (str_starts(*env, CKPT_ENV_IGNORE_AFFINITY "="))
			restart.ignore_affinity = 1;
	uint8_t allowed[CKPT_AFFINITY_BYTES] = {0};
	long n = sys_sched_getaffinity(0, sizeof allowed, allowed);
	if (n < 0 && !restart.ignore_affinity)
		die("cannot read this restart's CPU affinity (more than 1024 CPUs?)", n);
	const struct ckpt_thread *threads = (const void *)(tables + h->threads_off);
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct ckpt_thread *t = &threads[i];
		uint8_t missing[CKPT_AFFINITY_BYTES], outside = 0;
		for (int b = 0; b < CKPT_AFFINITY_BYTES; b++) {
			missing[b] = t->affinity[b] & ~allowed[b];
			outside |= missing[b];
		}
		if (ckpt_affinity_empty(t->affinity))
			refuse_thread(t, i, ") has no CPU in its saved affinity (corrupt image)", 0, 0);
		if (outside && !restart.ignore_affinity)
			refuse_thread(t, i, ") may run only on CPUs ", missing, allowed);
	}
}

void restore_affinity(const struct ckpt_thread *t)
{
	if (restart.ignore_affinity)
		return;
	long err = sys_sched_setaffinity(0, CKPT_AFFINITY_BYTES, t->affinity);
	if (err < 0)
		die("cannot bind a thread to its saved CPUs (sched_setaffinity)", err);
}
