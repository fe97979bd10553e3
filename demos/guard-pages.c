/* Guard pages (madvise MADV_GUARD_INSTALL, Linux 6.13+) in the middle of
 * written memory: private anonymous, shared anonymous and a private mapping
 * of a file. Sets them up, checks, prints "ready", waits until the file
 * GO exists (the checkpoint and restart happen meanwhile), then checks
 * again. A check: every guard page faults on read and on write (caught
 * with a SIGSEGV handler and siglongjmp), every other page holds its
 * pattern. Prints "<phase> <area>: PASS" or FAIL lines; exit 0 when all
 * passed. Prints "SKIP: why" and exits 0 where the kernel has no guards.
 * Usage: guard-pages GO */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define MADV_GUARD_INSTALL_ 102 /* newer than glibc 2.36's <sys/mman.h> */

struct area {
	const char *name;
	unsigned char *base;
	int pages, guard_from, guard_to; /* guard pages [from, to) */
	int fd;                          /* the file of a file mapping, else -1 */
};

static sigjmp_buf fault_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jump, 1);
}

static int faults(volatile unsigned char *p, int write)
{
	if (sigsetjmp(fault_jump, 1))
		return 1;
	if (write)
		*p = 0x5a;
	else
		(void)*p;
	return 0;
}

static unsigned char want(const struct area *a, int page, int at)
{
	unsigned char b;
	if (a->fd >= 0)
		return pread(a->fd, &b, 1, (off_t)page * PAGE + at) == 1 ? b : 0;
	return (unsigned char)(page * 31 + at * 7 + 1);
}

static int check(const char *phase, const struct area *a)
{
	int bad = 0;
	for (int i = 0; i < a->pages; i++) {
		unsigned char *p = a->base + (size_t)i * PAGE;
		if (i >= a->guard_from && i < a->guard_to) {
			if (!faults(p, 0) || !faults(p + PAGE - 1, 1)) {
				printf("%s %s: FAIL: page %d is no longer a guard page\n", phase, a->name, i);
				bad = 1;
			}
			continue;
		}
		for (int at = 0; at < PAGE; at += a->fd >= 0 ? 509 : 1)
			if (p[at] != want(a, i, at)) {
				printf("%s %s: FAIL: page %d byte %d is %d, expected %d\n", phase, a->name, i, at, p[at], want(a, i, at));
				bad = 1;
				break;
			}
	}
	if (!bad)
		printf("%s %s: PASS (%d guard pages fault, %d pages intact)\n", phase, a->name,
		       a->guard_to - a->guard_from, a->pages - (a->guard_to - a->guard_from));
	return bad;
}

static int setup(struct area *a, int flags, int fd)
{
	a->fd = fd;
	a->base = mmap(0, (size_t)a->pages * PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (a->base == MAP_FAILED)
		return printf("mmap %s: %s\n", a->name, strerror(errno)), -1;
	if (fd < 0)
		for (int i = 0; i < a->pages; i++)
			for (int at = 0; at < PAGE; at++)
				a->base[(size_t)i * PAGE + at] = want(a, i, at);
	else
		*(volatile unsigned char *)a->base = a->base[0]; /* the page before the guards: a private copy */
	if (madvise(a->base + (size_t)a->guard_from * PAGE, (size_t)(a->guard_to - a->guard_from) * PAGE, MADV_GUARD_INSTALL_)) {
		printf("SKIP: madvise(MADV_GUARD_INSTALL) on %s: %s (needs Linux 6.13)\n", a->name, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: guard-pages GO\n"), 2;
	setvbuf(stdout, 0, _IONBF, 0);
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, 0);
	int self = open("/proc/self/exe", O_RDONLY);
	struct area areas[] = {
		{"private", 0, 16, 6, 8, -1},
		{"shared", 0, 4, 2, 3, -1},
		{"file", 0, 3, 1, 2, -1},
	};
	int flags[] = {MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE};
	int bad = 0;
	for (int i = 0; i < 3; i++) {
		int r = setup(&areas[i], flags[i], i == 2 ? self : -1);
		if (r)
			return r < 0 ? 1 : 0;
		bad |= check("before", &areas[i]);
	}
	printf("ready\n");
	while (access(argv[1], F_OK))
		usleep(10000); /* interrupted by the checkpoint: just look again */
	for (int i = 0; i < 3; i++)
		bad |= check("after", &areas[i]);
	return bad;
}
