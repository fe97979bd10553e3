/*
 * What the watcher (watch.c) reads about the program it sends periodic
 * requests to, from files its owner may read without ptrace rights: the
 * trigger signal, from CKPT_SIGNAL in the initial environment block (a
 * restart does not know the first run's, and the block survives restarts
 * and execs in place), and whether it can take a request right now.
 */
#include <fcntl.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

/* The start of a small /proc file, NUL-terminated: its length, or 0. */
static long read_small(const char *path, char *text, unsigned long cap)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	long n = sys_read((int)fd, text, cap - 1);
	sys_close((int)fd);
	text[n > 0 ? n : 0] = 0;
	return n > 0 ? n : 0;
}

/* The first pid in /proc/PID/task/PID/children (the oldest child), or 0. */
static int first_child(int pid)
{
	struct line path = proc_path((uint64_t)pid, "task/");
	line_u64(&path, (uint64_t)pid);
	line_str(&path, "/children");
	char text[32];
	long n = read_small(path.buf, text, sizeof text);
	int child = 0;
	for (long i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
		child = child * 10 + (text[i] - '0');
	return child;
}

static int named(int pid, const char *comm)
{
	struct line path = proc_path((uint64_t)pid, "comm");
	char text[32];
	long n = read_small(path.buf, text, sizeof text);
	if (n == 0)
		return 0;
	text[n - 1] = 0; /* without its newline */
	return str_eq(text, comm);
}

/* After a restart into a pid namespace the watcher knows the supervisor's
 * pid: the program is below it, past init and the stand-in parent, each
 * the oldest child of the one before (pid_namespace.c). Else PID itself. */
int watched_program(int pid)
{
	if (!named(pid, CKPT_SUPERVISOR_NAME))
		return pid;
	int at = first_child(pid);
	if (at && named(at, "ckpt-init"))
		at = first_child(at);
	if (at && named(at, "ckpt-parent"))
		at = first_child(at);
	return at ? at : pid;
}

/* The value of CKPT_SIGNAL in /proc/PID/environ, streamed (the block may
 * be far larger than any buffer here): 1..CKPT_SIGNAL_MAX, 0 when absent
 * or not a signal, or -errno when unreadable. */
int watched_trigger_signal(int pid)
{
	struct line path = proc_path((uint64_t)pid, "environ");
	long fd = sys_openat(AT_FDCWD, path.buf, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	static const char key[] = CKPT_ENV_SIGNAL "=";
	char buf[4096];
	/* matched: bytes of `key` matched in this entry so far, -1 once it cannot match. */
	int matched = 0, value = 0, in_value = 0, found = 0;
	long n;
	while (!found && (n = sys_read((int)fd, buf, sizeof buf)) > 0)
		for (long i = 0; i < n && !found; i++) {
			char ch = buf[i];
			if (in_value) {
				if (ch >= '0' && ch <= '9' && value <= CKPT_SIGNAL_MAX)
					value = value * 10 + (ch - '0');
				else
					found = 1, value = ch == 0 ? value : 0;
			} else if (ch == 0) {
				matched = 0;
			} else if (matched >= 0) {
				matched = ch == key[matched] ? matched + 1 : -1;
				if (matched == (int)sizeof key - 1)
					in_value = 1;
			}
		}
	sys_close((int)fd);
	if (in_value && !found)
		found = 1; /* the block's last entry, with no NUL after it */
	return found && value >= 1 && value <= CKPT_SIGNAL_MAX ? value : 0;
}

/* Whether PID can take a request now: `sig` has a handler (the SigCgt
 * mask of /proc/PID/status), libckpt's once its constructor ran, none
 * between an exec and that constructor, where the signal's default action
 * would end the program, nor in a program exec'd without libckpt; and PID
 * is not stopped (^Z), where requests would only queue up (a real-time
 * trigger's, one per period, up to RLIMIT_SIGPENDING). */
int watched_ready(int pid, int sig)
{
	struct line path = proc_path((uint64_t)pid, "status");
	long fd = sys_openat(AT_FDCWD, path.buf, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	static char text[16384];
	long len = sys_read((int)fd, text, sizeof text - 1);
	sys_close((int)fd);
	text[len > 0 ? len : 0] = 0;
	const char *state = line_value(text, "State:");
	if (!state || *state == 'T' || *state == 't')
		return 0;
	const char *hex = line_value(text, "SigCgt:");
	if (!hex)
		return 0;
	while (*hex == ' ' || *hex == '\t')
		hex++;
	uint64_t mask = 0;
	for (; *hex; hex++) {
		int d = *hex >= '0' && *hex <= '9' ? *hex - '0' : *hex >= 'a' && *hex <= 'f' ? *hex - 'a' + 10 : -1;
		if (d < 0)
			break;
		mask = mask << 4 | (uint64_t)d;
	}
	return (mask >> (sig - 1)) & 1;
}
