/*
 * Process-wide settings the kernel keeps outside memory (struct
 * ckpt_process_state): each read without changing it, so a failed
 * checkpoint leaves the program exactly as it was.
 */
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "../process_state.h"
#include "../sys.h"

#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9) /* Linux 6.3; not in older headers */

static int digit_value(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A number from a /proc file: the whole file, or the line after `key`. */
static int proc_number(struct capture *c, const char *path, const char *key, int base, int64_t *out)
{
	long len = read_proc_file(c, path);
	if (len <= 0) {
		capture_fail(c, "cannot read ", 0);
		line_str(&c->error, path);
		line_str(&c->error, len < 0 ? ": " : " (empty)");
		line_str(&c->error, len < 0 ? errno_text(len) : "");
		return -1;
	}
	c->text[len] = 0;
	const char *at = key ? line_value(c->text, key) : c->text;
	if (!at)
		at = "";
	int ok = 0;
	if (base == 8 || base == 16) {
		int64_t v = 0;
		for (int d; (d = digit_value(*at)) >= 0 && d < base; at++, ok = 1)
			v = v * base + d;
		*out = v;
	} else {
		*out = decimal_at(at, &ok);
	}
	if (!ok) {
		capture_fail(c, "cannot make sense of ", 0);
		line_str(&c->error, path);
		return -1;
	}
	return 0;
}

/* Supplementary groups as "4,24,27": c->text holds the list, then its text. */
static int capture_groups(struct capture *c, struct ckpt_process_state *p)
{
	uint32_t *list = (uint32_t *)c->text;
	char *text = c->text + CKPT_MAX_GROUPS * sizeof *list;
	long n = sys_getgroups(CKPT_MAX_GROUPS, list);
	if (n < 0)
		return capture_fail(c, "cannot read the supplementary groups", n);
	size_t len = groups_text(text, list, n);
	p->ngroups = (uint32_t)n;
	p->groups_str = capture_string(c, text, len);
	if (len && !p->groups_str)
		return capture_fail(c, "the supplementary groups do not fit the string table", 0);
	return 0;
}

/* Under musl the stub writes each thread's new id at %fs + 48 (see
 * ckpt_tid_word): only where this musl keeps it there. Every thread is
 * stopped, so its descriptor holds still while we look. */
static int musl_keeps_tid_there(const struct ckpt_thread *t)
{
	if (CKPT_LIBC_OWN != CKPT_LIBC_MUSL)
		return 1;
	return t->fs_base >= CKPT_LOWEST_ADDRESS &&
	       *(const volatile int32_t *)ckpt_tid_word(CKPT_LIBC_MUSL, t) == t->tid;
}

/* capture_thread() marks a thread whose rseq registration is not the
 * libc's, and one whose CPU mask did not fit the image's; a thread whose id
 * the stub could not write back is refused too. */
static int refuse_threads_not_restorable(struct capture *c)
{
	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct ckpt_thread *t = &c->threads[i];
		const char *why = t->rseq_len == CKPT_UNKNOWN
			? (CKPT_LIBC_OWN == CKPT_LIBC_MUSL
				   ? " has an rseq area registered (musl registers none), which ckpt cannot read back"
				   : " has an rseq area registered that is not glibc's, which ckpt cannot read back; "
				     "leave rseq registration to glibc")
			: !musl_keeps_tid_there(t)
			? " has no musl thread descriptor with its id at %fs+48 (musl 1.2 keeps it there); "
			  "only threads made by this musl's pthread_create can be restored"
			: ckpt_affinity_empty(t->affinity)
			? " has a CPU affinity mask wider than the image holds (more than 1024 CPUs on this "
			  "machine), which a restart could not set again"
			: (t->sched_policy & ~CKPT_SCHED_RESET_ON_FORK) == CKPT_SCHED_DEADLINE
			? " runs under SCHED_DEADLINE, which a restart cannot set again (sched_setattr needs "
			  "root, and admission could refuse it)"
			: t->mempolicy == CKPT_UNKNOWN
			? " has a NUMA memory policy naming nodes above 63, which the image cannot hold"
			: 0;
		if (!why)
			continue;
		capture_fail(c, "thread ", 0);
		line_u64(&c->error, (uint64_t)t->tid);
		line_str(&c->error, why);
		return -1;
	}
	return 0;
}

int capture_process_state(struct capture *c)
{
	if (refuse_threads_not_restorable(c))
		return -1;
	struct ckpt_process_state *p = &c->hdr->process;
	int64_t v;
	if (proc_number(c, "/proc/self/status", "Umask:", 8, &v))
		return -1;
	p->umask = (uint32_t)v;
	if (proc_number(c, "/proc/self/oom_score_adj", 0, 10, &v))
		return -1;
	p->oom_score_adj = (int32_t)v;
	if (proc_number(c, "/proc/self/coredump_filter", 0, 16, &v))
		return -1;
	c->hdr->coredump_filter = (uint32_t)v;
	/* Absent without audit support: nothing to carry then. */
	p->loginuid = proc_number(c, "/proc/self/loginuid", 0, 10, &v) ? CKPT_UNKNOWN : (uint32_t)v;
	c->error.len = 0;
	long thp = sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	p->thp_disable = thp < 0 ? 0 : (uint32_t)thp; /* no such setting: nothing to carry */
	p->no_new_privs = (uint32_t)sys_prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	int subreaper = 0;
	sys_prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&subreaper, 0, 0, 0);
	p->child_subreaper = (uint32_t)subreaper;
	c->hdr->personality = (uint32_t)SYS1(__NR_personality, 0xffffffff); /* this value only asks */
	long mdwe = sys_prctl(CKPT_PR_GET_MDWE, 0, 0, 0, 0);
	c->hdr->mdwe = mdwe < 0 ? 0 : (uint32_t)mdwe; /* EINVAL before Linux 6.3: none */
	c->hdr->dumpable = c->dumpable; /* as scratch_open found it */
	long mb = sys_membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS, 0);
	p->membarrier = mb < 0 ? CKPT_UNKNOWN : (uint32_t)mb;
	if (capture_groups(c, p))
		return -1;
	long len = read_proc_file(c, "/proc/self/cgroup");
	if (len > 0)
		p->cgroup_str = capture_string(c, c->text, (size_t)len);
	return 0;
}
