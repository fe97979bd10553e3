/* States of the world a restart would trip over, each set up by the
 * program or by the test around it (ckpt's refusal audit):
 *   seek DIR    holds DIR/short (10 bytes) on fd 3 at offset 1000, past its
 *               end, as a program may; checks size and offset every step.
 *   cwd DIR     works in DIR/work, which the test may delete under it.
 *   shadow DIR  holds DIR/sub/file on fd 3; the test may mount over DIR/sub.
 *   chmod DIR   holds DIR/file open for writing on fd 3; the test may make
 *               it read-only (run as a user without the right to override).
 * Each step prints what it sees from inside. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mode = argv[1], *dir = argv[2];
	char path[4200];
	if (!strcmp(mode, "seek")) {
		snprintf(path, sizeof path, "%s/short", dir);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd != 3 || write(fd, "0123456789", 10) != 10 || lseek(fd, 1000, SEEK_SET) != 1000)
			return 3;
	} else if (!strcmp(mode, "cwd")) {
		snprintf(path, sizeof path, "%s/work", dir);
		if (mkdir(path, 0700) || chdir(path))
			return 3;
	} else if (!strcmp(mode, "shadow")) {
		snprintf(path, sizeof path, "%s/sub", dir);
		if (mkdir(path, 0700))
			return 3;
		snprintf(path, sizeof path, "%s/sub/file", dir);
		if (open(path, O_RDWR | O_CREAT, 0600) != 3)
			return 3;
	} else if (!strcmp(mode, "chmod")) {
		snprintf(path, sizeof path, "%s/file", dir);
		if (open(path, O_RDWR | O_CREAT, 0600) != 3)
			return 3;
	} else {
		return 2;
	}
	for (int i = 0; i < 10; i++) {
		struct stat st;
		if (!strcmp(mode, "seek")) {
			int ok = fstat(3, &st) == 0 && st.st_size == 10 && lseek(3, 0, SEEK_CUR) == 1000;
			printf("step %d %s\n", i, ok ? "offset 1000 past 10 bytes" : "FAIL offset or size");
		} else {
			printf("step %d\n", i);
		}
		fflush(stdout);
		usleep(200000);
	}
	return 0;
}
