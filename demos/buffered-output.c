/* Prints with stdio and never flushes by hand: with stdout on a file, the
 * lines sit in the program's buffer at checkpoint time. They must appear
 * exactly once in the end (stopping must not flush them, restart must). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 12; i++) {
		printf("buffered line %d\n", i);
		usleep(150000);
	}
	printf("the end\n");
	return 7; /* an exit status of its own, to check it passes through */
}
