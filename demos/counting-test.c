/* The seed's counting demo: prints its integer argument and the next 9,
 * one a second. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int start = argc > 1 ? atoi(argv[1]) : 0;
	for (int i = start; i < start + 10; i++) {
		printf("%d\n", i);
		fflush(stdout);
		sleep(1);
	}
	return 0;
}
