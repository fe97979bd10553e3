/*
 * Phase 1: the process-wide settings of struct ckpt_process_state. What an
 * unprivileged restart cannot set (login uid, supplementary groups, a
 * no-new-privs flag it already has) must still match, or the restart is
 * refused saying "was X, is now Y"; a privileged one sets the groups. The rest is set here, before teardown,
 * so a setting the kernel refuses (oom_score_adj below the restart's
 * floor) is a clean refusal too; whatever was set dies with this process
 * if a later check refuses. The cgroup is not checked: a batch system puts
 * every run in a cgroup of its own (shown by `ckpt info`, not carried).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "stub.h"
#include "../process_state.h"
#include "../sys.h"

/* The one number in a small /proc file, or CKPT_UNKNOWN where there is none. */
int64_t proc_number(const char *path)
{
	char buf[32];
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return CKPT_UNKNOWN;
	long n = sys_read((int)fd, buf, sizeof buf - 1);
	sys_close((int)fd);
	int ok = 0;
	buf[n > 0 ? n : 0] = 0;
	int64_t v = decimal_at(buf, &ok);
	return ok ? v : CKPT_UNKNOWN;
}

/* "<what> was <before>, is now <now><how>" */
static __attribute__((noreturn)) void refuse_changed(const char *what, const char *before, const char *now,
						     const char *how)
{
	struct line why = {.len = 0};
	line_str(&why, what);
	line_str(&why, " was ");
	line_str(&why, before);
	line_str(&why, ", is now ");
	line_str(&why, now);
	line_str(&why, how);
	die_line(&why);
}

static void text_of(struct line *l, int64_t v)
{
	l->len = 0;
	if (v == CKPT_UNKNOWN)
		line_str(l, "unset");
	else
		line_i64(l, v);
}

/* An image taken inside a user namespace (a restart's, pid_namespace.c)
 * saw every id that namespace does not map as unmapped: a login uid other
 * than our own uid read as unset, a group other than our own gid as the
 * overflow gid. Such an image matches the ids those readings came from. */
static void check_loginuid(const struct ckpt_process_state *p)
{
	int64_t now = proc_number("/proc/self/loginuid");
	if (now == p->loginuid)
		return;
	if (p->loginuid == CKPT_UNKNOWN && now != sys_getuid())
		return;
	struct line a, b;
	text_of(&a, p->loginuid);
	text_of(&b, now);
	refuse_changed("the login uid (audit session)", a.buf, b.buf,
		       "; only a privileged process can change it: restart from a session of the same login");
}

/* A privileged restart (CAP_SETGID where the program will run: not in a
 * user namespace of its own) sets the image's list, "4,24,27", in `list`'s
 * room; 1 when it did. nginx's workers started by root take root's
 * groups (initgroups), which a root shell's restart need not have. */
static int set_groups(const char *text, uint32_t *list)
{
	long n = 0;
	for (const char *s = text; *s && n < CKPT_MAX_GROUPS; n++) {
		int ok;
		int64_t v = decimal_at(s, &ok);
		if (!ok || v < 0 || v > 0xfffffffe)
			return 0;
		list[n] = (uint32_t)v;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == ',')
			s++;
		else if (*s)
			return 0;
	}
	return sys_setgroups(n, list) == 0;
}

/* The buffers are mapped, not static: the stub's bss is copied into the
 * arena at every restart. */
static void check_groups(const struct ckpt_process_state *p, const char *strings)
{
	const uint64_t size = CKPT_MAX_GROUPS * sizeof(uint32_t) + 2 * CKPT_GROUPS_TEXT;
	long mem = sys_mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem < 0)
		die("cannot map memory to compare the supplementary groups", mem);
	uint32_t *list = (uint32_t *)mem;
	char *now = (char *)(list + CKPT_MAX_GROUPS), *unmapped = now + CKPT_GROUPS_TEXT;
	long n = sys_getgroups(CKPT_MAX_GROUPS, list);
	if (n < 0)
		die("cannot read this process's supplementary groups", n);
	groups_text(now, list, n);
	int64_t overflow = proc_number("/proc/sys/kernel/overflowgid");
	uint32_t own = (uint32_t)sys_getegid();
	for (long i = 0; i < n; i++)
		list[i] = list[i] == own ? own : (uint32_t)overflow;
	groups_text(unmapped, list, n);
	const char *before = string_at(strings, p->groups_str);
	if (str_eq(before, now) || str_eq(before, unmapped) || set_groups(before, list)) {
		sys_munmap((void *)mem, size);
		return;
	}
	refuse_changed("the supplementary group list", before[0] ? before : "none", now[0] ? now : "none",
		       "; they cannot be set without privileges: restart from a session with the same groups");
}

/* Writes `text` and a newline into a /proc file of ours; the error, or >= 0. */
static long write_proc_line(const char *path, struct line *text)
{
	line_str(text, "\n");
	long fd = sys_openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
	long rc = fd < 0 ? fd : sys_write((int)fd, text->buf, text->len);
	if (fd >= 0)
		sys_close((int)fd);
	return rc;
}

static void set_oom_score_adj(int32_t want)
{
	int64_t now = proc_number("/proc/self/oom_score_adj");
	if (now == want)
		return;
	struct line text = {.len = 0};
	line_i64(&text, want);
	long rc = write_proc_line("/proc/self/oom_score_adj", &text);
	if (rc >= 0)
		return;
	struct line a, b;
	text_of(&a, want);
	text_of(&b, now);
	line_str(&b, " and cannot be lowered by this restart (");
	line_str(&b, errno_text(rc));
	refuse_changed("oom_score_adj", a.buf, b.buf,
		       "; lowering it needs CAP_SYS_RESOURCE): restart from a process whose oom_score_adj is not higher");
}

/* Which memory a core dump holds: the program's own setting (databases
 * leave shared memory out), kept in the memory map, which the stub's is
 * about to become. Any value may be written. */
static void set_coredump_filter(uint32_t filter)
{
	struct line text = {.len = 0};
	line_hex(&text, filter);
	long rc = write_proc_line("/proc/self/coredump_filter", &text);
	if (rc < 0)
		die("cannot set the coredump filter again (/proc/self/coredump_filter)", rc);
}

static void set_prctl_flags(const struct ckpt_process_state *p)
{
	long nnp = sys_prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (nnp == 1 && !p->no_new_privs)
		refuse_changed("no_new_privs", "0", "1",
			       " (inherited from whoever runs the restart) and can never be cleared: restart from a process "
			       "without it");
	if (p->no_new_privs && nnp != 1) {
		long err = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (err < 0)
			die("cannot set no_new_privs again", err);
	}
	/* Bit 0: disabled; bit 1: except where madvise asks (Linux 6.18). */
	long err = sys_prctl(PR_SET_THP_DISABLE, p->thp_disable & 1, p->thp_disable & 2, 0, 0);
	if (err < 0 || sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != p->thp_disable)
		die("cannot set the transparent huge page setting (PR_SET_THP_DISABLE) back", err);
	err = sys_prctl(PR_SET_CHILD_SUBREAPER, p->child_subreaper, 0, 0, 0);
	if (err < 0)
		die("cannot set the child-subreaper flag back", err);
}

/* Registration is per process and cannot be undone, so each kind the
 * program had is registered again: the program's membarrier() calls of
 * that kind would fail with EPERM otherwise. */
static void register_membarrier(uint32_t registrations)
{
	if (registrations == CKPT_UNKNOWN)
		return; /* a kernel before 6.3 could not say; the README says so */
	for (int bit = 0; bit < 31; bit++) {
		if (!(registrations & (1u << bit)))
			continue;
		long err = sys_membarrier(1 << bit, 0);
		if (err < 0) {
			struct line why = {.len = 0};
			line_str(&why, "cannot register membarrier command ");
			line_u64(&why, 1u << bit);
			line_str(&why, " again: ");
			line_str(&why, errno_text(err));
			die_line(&why);
		}
	}
}

/* Before any namespace, where the real ids show. */
void check_identity(const struct ckpt_header *h, const char *tables)
{
	check_loginuid(&h->process);
	check_groups(&h->process, tables + h->strings_off);
}

/* The personality (setarch -R: ADDR_NO_RANDOMIZE; READ_IMPLIES_EXEC...)
 * is set in phase 2, once every region is mapped with its saved protection
 * (READ_IMPLIES_EXEC would add PROT_EXEC to the stub's own mappings); one
 * this kernel refuses is refused here, tried and taken back. */
static void check_personality(uint32_t personality)
{
	long was = SYS1(__NR_personality, 0xffffffff);
	long err = SYS1(__NR_personality, personality);
	SYS1(__NR_personality, was);
	if (err < 0)
		die("cannot set the program's personality (personality(2)) on this kernel", err);
}

/* Memory-deny-write-execute cannot be cleared once set, so it cannot be
 * tried here: the stub still makes its arena executable. A kernel that
 * does not know it (before 6.3) is refused here; phase 2 sets it last. */
static void check_mdwe(uint32_t mdwe)
{
	if (mdwe && sys_prctl(CKPT_PR_GET_MDWE, 0, 0, 0, 0) < 0)
		die("the program had memory-deny-write-execute (PR_SET_MDWE), which this kernel lacks (Linux 6.3+)", 0);
}

void restore_process_settings(const struct ckpt_header *h)
{
	const struct ckpt_process_state *p = &h->process;
	check_personality(h->personality);
	check_mdwe(h->mdwe);
	set_prctl_flags(p);
	set_oom_score_adj(p->oom_score_adj);
	set_coredump_filter(h->coredump_filter);
	register_membarrier(p->membarrier);
	sys_umask(p->umask);
}
