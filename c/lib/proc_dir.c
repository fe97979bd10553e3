/*
 * Walking /proc/self/fd and /proc/self/task: the numbered entries of a
 * directory, read with getdents64 into a stack buffer (no libc, no
 * allocation: this runs in the signal handler too).
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

int for_each_numbered_entry(const char *path, int (*each)(int n, void *ctx), void *ctx)
{
	char buf[4096];
	long dir = sys_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dir < 0)
		return (int)dir;
	long n;
	int rc = 0;
	while (!rc && (n = sys_getdents64((int)dir, buf, sizeof buf)) != 0) {
		if (n < 0) {
			rc = (int)n;
			break;
		}
		for (long at = 0; at < n && !rc;) {
			const struct dirent64_raw *d = (const void *)(buf + at);
			at += d->reclen;
			int number = 0, digits = 0;
			for (const char *p = d->name; *p >= '0' && *p <= '9'; p++, digits++)
				number = number * 10 + (*p - '0');
			/* "." and "..", and the descriptor this walk reads through */
			if (digits && !(number == dir && str_eq(path, "/proc/self/fd")))
				rc = each(number, ctx);
		}
	}
	sys_close((int)dir);
	return rc;
}
