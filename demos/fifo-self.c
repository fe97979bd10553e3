/* Holds both ends of a named FIFO, DIR/fifo (read end fd 3, non-blocking;
 * write end fd 4), with bytes it has not read yet ("abcdefghij", one read
 * per step), and a second FIFO, DIR/fifo2, opened O_RDWR on fd 5 (both
 * ends in one fd) holding "XY". After a restart the unread bytes must come
 * back in order, none twice, the flags as they were, and the ends still
 * connected through the FIFO at its path. "half" holds only the read end
 * of DIR/fifo (another process would write): refused at checkpoint. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4200], path2[4200];
	if (argc < 2)
		return 2;
	snprintf(path, sizeof path, "%s/fifo", argv[1]);
	snprintf(path2, sizeof path2, "%s/fifo2", argv[1]);
	if (mkfifo(path, 0600) || mkfifo(path2, 0600))
		return 3;
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	if (argc > 2 && !strcmp(argv[2], "half")) {
		for (int i = 0; i < 10; i++) {
			printf("step %d half\n", i);
			fflush(stdout);
			usleep(200000);
		}
		return 0;
	}
	int wr = open(path, O_WRONLY), both = open(path2, O_RDWR);
	if (rd != 3 || wr != 4 || both != 5 || write(wr, "abcdefghij", 10) != 10 || write(both, "XY", 2) != 2)
		return 3;
	for (int i = 0; i < 10; i++) {
		char c = '?';
		if (read(rd, &c, 1) != 1 || c != 'a' + i) {
			printf("step %d FAIL read %c\n", i, c);
			return 4;
		}
		int ok = (fcntl(rd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) &&
			 (fcntl(wr, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_WRONLY &&
			 (fcntl(both, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR;
		printf("step %d read %c%s\n", i, c, ok ? "" : " FAIL flags");
		fflush(stdout);
		if (!ok)
			return 4;
		usleep(200000);
	}
	char c = 0, xy[3] = {0};
	if (read(rd, &c, 1) != -1) {
		printf("stray byte %c in the FIFO\n", c);
		return 6;
	}
	/* Still a FIFO at its path: a new opener reaches the same pipe. */
	int other = open(path, O_WRONLY | O_NONBLOCK);
	if (other < 0 || write(other, "Z", 1) != 1 || read(rd, &c, 1) != 1 || c != 'Z') {
		printf("FIFO ends no longer connected\n");
		return 6;
	}
	if (read(both, xy, 2) != 2 || strcmp(xy, "XY")) {
		printf("O_RDWR FIFO lost its bytes\n");
		return 6;
	}
	printf("fifo ok\n");
	return 0;
}
