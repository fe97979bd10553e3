/* Shared memory whose sharing a restart could not keep, held across a
 * checkpoint request: a SysV segment ("sysv"), or a memfd mapped twice with
 * its descriptor closed, as a JIT maps its code ("memfd-twice"). Each must
 * refuse the checkpoint while the program runs on, its views still one.
 * "anon" holds MAP_SHARED|MAP_ANONYMOUS memory, which is restored.
 * Prints "ready", waits for a line on stdin, then checks its views. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static int views_agree(volatile char *a, volatile char *b, const char *what)
{
	a[100] = 'Q';
	int same = b[100] == 'Q';
	printf("%s after: %s\n", what, same ? "one memory" : "SPLIT");
	return !same;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "anon";
	char *a = 0, *b = 0;
	if (!strcmp(mode, "sysv")) {
		int id = shmget(IPC_PRIVATE, 1 << 16, IPC_CREAT | 0600);
		a = shmat(id, 0, 0), b = shmat(id, 0, 0);
		shmctl(id, IPC_RMID, 0); /* gone when the last view goes */
	} else if (!strcmp(mode, "memfd-twice")) {
		int fd = memfd_create("jit", 0);
		ftruncate(fd, 1 << 16);
		a = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		b = mmap(0, 1 << 16, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
	} else {
		a = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		b = a;
	}
	if (a == MAP_FAILED || b == MAP_FAILED || a == (void *)-1 || b == (void *)-1) {
		perror(mode);
		return 2;
	}
	strcpy(a, "shared bytes");
	printf("ready\n");
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof line, stdin))
		return 3;
	printf("%s: %s\n", mode, b);
	return views_agree(a, b, mode);
}
