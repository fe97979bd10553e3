/*
 * Seccomp filters: an unprivileged restart can neither read a filter back
 * (PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN) nor install it again, so
 * the filters the program's tree installed itself refuse the checkpoint.
 * Those it was launched under are the environment's, like the cgroup: the
 * first libckpt of a launch counts them, and the count goes on to every
 * exec in place (CKPT_SECCOMP), since a sandbox in the tree (bwrap
 * --seccomp, minijail) installs its filter and then execs the program.
 * After a restart the count is the restart's own: the program's never come
 * back. Filters are inherited and kept across execve, never dropped, so
 * more than the count means the tree's own.
 */
#include <fcntl.h>
#include <stdlib.h>
#include "ckpt_lib.h"
#include "seccomp.h"
#include "../process_state.h"
#include "../sys.h"

/* The number on the line of /proc/self/status that starts with `key`, or -1. */
static int64_t status_value(const char *text, const char *key)
{
	const char *at = line_value(text, key);
	int ok = 0;
	int64_t v = at ? decimal_at(at, &ok) : 0;
	return ok ? v : -1;
}

/* Seccomp_filters in /proc/self/status (Linux 5.9; before, 1 for filter
 * mode and 0 for none). Filters are inherited by children and kept across
 * execve, never dropped, so a count above the launch's (CKPT_SECCOMP) means
 * filters the program's own tree installed. Raw calls and a stack buffer:
 * the handler runs it after a restart. */
int seccomp_level(void)
{
	char text[4096];
	long fd = sys_openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	long n = fd < 0 ? fd : sys_read((int)fd, text, sizeof text - 1);
	if (fd >= 0)
		sys_close((int)fd);
	if (n <= 0)
		return -1;
	text[n] = 0;
	int64_t filters = status_value(text, "Seccomp_filters:");
	if (filters >= 0)
		return (int)filters;
	int64_t mode = status_value(text, "Seccomp:");
	return mode < 0 ? -1 : mode == 2;
}

int refuse_own_seccomp(struct capture *c)
{
	int now = seccomp_level(), base = ckpt_config.seccomp_base;
	if (now < 0 || base < 0)
		return capture_fail(c, "cannot tell whether the program installed seccomp filters (/proc/self/status)", 0);
	if (now <= base)
		return 0;
	capture_fail(c, "the program installed seccomp filters of its own (Seccomp_filters in /proc/self/status: ", 0);
	line_u64(&c->error, (uint64_t)base);
	line_str(&c->error, " at launch, ");
	line_u64(&c->error, (uint64_t)now);
	line_str(&c->error, " now), which a restart cannot read back and install again (that needs CAP_SYS_ADMIN): "
			    "it would run without them");
	return -1;
}

/* The seccomp filters the program may have without their being its own,
 * handed on to every exec in place. Raw work only: a restart calls it from
 * the handler, with the restart's count. */
void seccomp_note_base(int base)
{
	static char entry[sizeof CKPT_ENV_SECCOMP "=" + 12];
	ckpt_config.seccomp_base = base;
	struct line l = {.len = 0};
	line_str(&l, CKPT_ENV_SECCOMP "=");
	line_i64(&l, base);
	l.buf[l.len] = 0;
	str_copy(entry, sizeof entry, l.buf);
	exec_remember_entry(entry);
}

/* Handed on by an exec (CKPT_SECCOMP; kept by exec_remember), else this is
 * the launched program's first start: its own count is the launch's. */
void seccomp_note_launch(void)
{
	const char *given = getenv(CKPT_ENV_SECCOMP);
	if (!given) {
		seccomp_note_base(seccomp_level());
		return;
	}
	int ok;
	int64_t base = decimal_at(given, &ok);
	ckpt_config.seccomp_base = ok ? (int)base : -1;
}
