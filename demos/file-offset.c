/* Writes a line per step to a file and reads a line per step from another,
 * both opened before the checkpoint: after a restart both offsets continue
 * where they were. At the end the written file is read back and checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: file-offset OUT IN\n");
		return 2;
	}
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	FILE *in = fopen(argv[2], "r");
	if (out < 0 || !in)
		return 3;
	char line[128];
	for (int i = 0; i < 10; i++) {
		int n = snprintf(line, sizeof line, "record %d\n", i);
		if (write(out, line, (size_t)n) != n)
			return 4;
		char got[128] = "";
		if (!fgets(got, sizeof got, in))
			strcpy(got, "EOF\n");
		printf("step %d read %s", i, got);
		fflush(stdout);
		usleep(200000);
	}
	close(out);
	FILE *back = fopen(argv[1], "r");
	int i = 0;
	while (back && fgets(line, sizeof line, back)) {
		char want[64];
		snprintf(want, sizeof want, "record %d\n", i++);
		if (strcmp(line, want)) {
			printf("file corrupt at line %d\n", i);
			return 5;
		}
	}
	printf("file ok, %d records\n", i);
	return 0;
}
