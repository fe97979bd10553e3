/* The seed's hello demo: ten greetings, one a second, then a farewell. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 10; i++) {
		printf("Hello world!\n");
		fflush(stdout);
		sleep(1);
	}
	printf("Goodbye world!\n");
	return 0;
}
