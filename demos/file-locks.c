/* Holds every kind of file lock on DIR/locked: a flock write lock (fd 3),
 * a POSIX write lock on bytes 10-19 (fd 4), an OFD write lock on bytes
 * 50-59 (fd 5), and a read lease on DIR/leased (fd 6). Every step a child
 * process checks that the locks really are held, from outside, as another
 * process would meet them: flock fails with EWOULDBLOCK, F_GETLK reports
 * this process (its pid now: new after a restart) as the POSIX owner,
 * F_OFD_GETLK reports the OFD lock; and this process finds its lease with
 * F_GETLEASE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *outside_view(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return "open";
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return "flock not held";
	struct flock p = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
	if (fcntl(fd, F_GETLK, &p) || p.l_type != F_WRLCK || p.l_pid != getppid() || p.l_start != 10 || p.l_len != 10)
		return "POSIX lock not held";
	struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
	if (fcntl(fd, F_OFD_GETLK, &o) || o.l_type != F_WRLCK || o.l_pid != -1 || o.l_start != 50 || o.l_len != 10)
		return "OFD lock not held";
	struct flock gap = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 30};
	if (fcntl(fd, F_GETLK, &gap) || gap.l_type != F_UNLCK)
		return "bytes 20-49 locked";
	return 0;
}

int main(int argc, char **argv)
{
	char locked[4096], leased[4096];
	if (argc < 2)
		return 2;
	snprintf(locked, sizeof locked, "%s/locked", argv[1]);
	snprintf(leased, sizeof leased, "%s/leased", argv[1]);
	int a = open(locked, O_RDWR | O_CREAT, 0600), b = open(locked, O_RDWR), c = open(locked, O_RDWR);
	int l = open(leased, O_RDONLY | O_CREAT, 0600);
	if (a != 3 || b != 4 || c != 5 || l != 6)
		return 3;
	struct flock p = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
	struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
	if (flock(a, LOCK_EX) || fcntl(b, F_SETLK, &p) || fcntl(c, F_OFD_SETLK, &o) || fcntl(l, F_SETLEASE, F_RDLCK))
		return 3;
	for (int i = 0; i < 10; i++) {
		const char *bad = fcntl(l, F_GETLEASE) != F_RDLCK ? "lease lost" : 0;
		pid_t child = bad ? -1 : fork();
		if (child == 0) {
			const char *why = outside_view(locked);
			if (why)
				printf("step %d FAIL %s\n", i, why);
			_exit(why ? 1 : 0);
		}
		int st = 0;
		if (child > 0 && (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st)))
			bad = "(see the line above)";
		if (!bad)
			printf("step %d locks held\n", i);
		else if (child < 0)
			printf("step %d FAIL %s\n", i, bad);
		fflush(stdout);
		if (bad)
			return 4;
		usleep(200000);
	}
	return 0;
}
