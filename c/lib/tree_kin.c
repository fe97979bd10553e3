/*
 * Whether a process that is not below the root belongs to its tree all the
 * same (docs/process-trees.md, "Orphans"): one whose parent exited, so
 * the kernel gave it to init or a subreaper (a shell's `( worker & )`, a
 * daemon's double fork). Nothing of the parent link is left to follow, so
 * two facts the process cannot have by accident decide it:
 *  - it started no earlier than the root (a process of another tree, or
 *    one that merely has a reused pid, started before it);
 *  - its initial environment block (/proc/PID/environ, what the launcher or
 *    exec.c put there; the constructor takes the variables out of
 *    `environ`, not out of the block) says CKPT_PID is this root.
 * Another user's process cannot be read, and is not of the tree.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

#define STARTTIME_FIELD 22

/* The value of CKPT_PID in pid's environment block, streamed (the block
 * may be large); 0 if it has none or cannot be read. */
int environ_root(int pid)
{
	struct line path = proc_path((uint64_t)pid, "environ");
	long fd = sys_openat(AT_FDCWD, path.buf, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	static const char key[] = "\0" CKPT_ENV_PID "=";
	const uint32_t key_len = sizeof key - 1;
	uint32_t matched = 1; /* the block's start counts as the NUL before an entry */
	int64_t value = -1;   /* >= 0: reading the digits */
	int found = 0;
	char buf[512];
	long n;
	while (!found && (n = sys_read((int)fd, buf, sizeof buf)) > 0)
		for (long i = 0; i < n && !found; i++) {
			char ch = buf[i];
			if (value >= 0) {
				if (ch >= '0' && ch <= '9' && value < 1000000000000)
					value = value * 10 + (ch - '0');
				else if (ch == 0)
					found = 1;
				else
					value = -1, matched = 0;
				continue;
			}
			if (ch == key[matched]) {
				if (++matched == key_len)
					value = 0;
			} else {
				matched = ch == 0; /* the key's only NUL is its first byte */
			}
		}
	sys_close((int)fd);
	return found && value > 0 && value < 0x7fffffff ? (int)value : 0;
}

uint64_t process_started(int pid)
{
	return proc_stat_field(pid, STARTTIME_FIELD);
}

/* The root's start is the caller's, read once: a scan asks this of every
 * process on the machine. */
int of_this_tree(int pid, int root, uint64_t root_started)
{
	uint64_t started = process_started(pid);
	if (pid <= 1 || !started || !root_started || started < root_started)
		return 0;
	return environ_root(pid) == root;
}

int descends_from_tree(int root)
{
	uint64_t root_started = process_started(root);
	/* From this process itself: an orphan that execs (`( exec worker & )`)
	 * has its parent's block no more, but the one exec.c gave it. */
	for (int p = (int)sys_getpid(); p > 1; p = (int)proc_stat_field(p, 4)) {
		if (p == root)
			return 1;
		uint64_t started = process_started(p);
		if (!started || started < root_started)
			return 0; /* neither it nor its ancestors came from the root */
		if (of_this_tree(p, root, root_started))
			return 1;
	}
	return 0;
}
