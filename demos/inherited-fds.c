/* Shows the descriptors it inherited: every open one from 3 up, and for
 * each one named on the command line its target, close-on-exec flag, status
 * flags and offset. Then, for N ticks (default 30), reads one byte from each
 * named descriptor and prints it: after a restart the bytes must go on
 * where they left off. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = 30;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 3;
	printf("open from 3 up:");
	int listed[4096], count = 0;
	for (struct dirent *e; (e = readdir(d)) && count < 4096;) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= 3 && fd != dirfd(d))
			listed[count++] = fd;
	}
	closedir(d);
	for (int lo = -1, k = 0; k < count; k++) { /* ascending, without sorting in place */
		int next = 1 << 30;
		for (int i = 0; i < count; i++)
			if (listed[i] > lo && listed[i] < next)
				next = listed[i];
		printf(" %d", next);
		lo = next;
	}
	printf("\n");
	for (int a = 1; a < argc; a++) {
		int fd = atoi(argv[a]);
		char path[64], target[4096] = "";
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		target[len > 0 ? len : 0] = 0;
		printf("fd %d -> %s cloexec=%d flags=0%o offset=%ld\n", fd, target, fcntl(fd, F_GETFD) & FD_CLOEXEC,
		       fcntl(fd, F_GETFL), (long)lseek(fd, 0, SEEK_CUR));
	}
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		printf("tick %d", i);
		for (int a = 1; a < argc; a++) {
			char c = '-';
			if (read(atoi(argv[a]), &c, 1) != 1)
				c = '!';
			printf(" %c", c);
		}
		printf("\n");
		fflush(stdout);
		usleep(50000);
	}
	return 0;
}
