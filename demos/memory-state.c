/* Memory state a restart must give back exactly, checked from inside.
 *
 *   memory-state protnone FILE   data written, then protected PROT_NONE
 *                                (anonymous, and a private copy of FILE)
 *   memory-state advice          madvise/mlock/mseal state (smaps VmFlags)
 *   memory-state sharedfile FILE a read-only shared view of FILE opened
 *                                O_RDWR, made writable after the restart
 *   memory-state reserve         64 GiB reserved PROT_NONE, 64 GiB mapped
 *                                MAP_NORESERVE, and a read-only page written
 *                                through /proc/self/mem: none is charged to
 *                                the commit limit, before or after
 *   memory-state mlockall        mlockall(MCL_CURRENT | MCL_FUTURE), which a
 *                                checkpoint refuses: prints "still running"
 *                                after its sleep is interrupted
 *
 * Each sets its state and prints "ready"; then it waits until its pid
 * changes, which only a restart does (a checkpoint with --continue keeps
 * the original running under its own pid), and checks the state again,
 * printing one "PASS ..." or "FAIL ..." line per check. Exit 0 when all
 * passed.
 *
 * With --continue the original runs on while a background writer saves
 * it; the checkpoint signal interrupts its sleep, and protnone then
 * overwrites its protected data at once, as a program running on would:
 * the image must hold the data as it was at the checkpoint. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	failures += !ok;
}

/* on_continue: run when a --continue checkpoint interrupted the sleep. */
/* The checkpoint signal is blocked except inside ppoll, so it can only
 * arrive there and always ends the wait with EINTR: with usleep it could land
 * between two sleeps and the overwrite would never happen. The raw syscall
 * keeps libckpt's warning about a program blocking its trigger out of the
 * output: this block is the test's, not the behaviour under test. */
static void wait_for_restart(void (*on_continue)(void))
{
	sigset_t blocked, during_wait;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR2);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &blocked, &during_wait, 8);
	sigdelset(&during_wait, SIGUSR2);
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	pid_t pid = getpid();
	printf("ready\n");
	fflush(stdout);
	while (getpid() == pid)
		if (ppoll(NULL, 0, &tick, &during_wait) < 0 && errno == EINTR && getpid() == pid && on_continue)
			on_continue();
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &blocked, NULL, 8);
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 12));
}

static int has_pattern(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 31 + i * 7 + (i >> 12)))
			return 0;
	return 1;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void *map_anon(size_t len)
{
	void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		perror("mmap"), exit(2);
	return p;
}

static unsigned char *anon, *file, *wiped;

static void overwrite_protected(void)
{
	mprotect(anon, 3 * PAGE, PROT_READ | PROT_WRITE);
	mprotect(file, PAGE, PROT_READ | PROT_WRITE);
	memset(anon, 0xaa, 3 * PAGE);
	mprotect(wiped, PAGE, PROT_READ | PROT_WRITE);
	memset(file, 0xaa, PAGE);
	memset(wiped, 0xaa, PAGE);
	mprotect(anon, 3 * PAGE, PROT_NONE);
	mprotect(file, PAGE, PROT_NONE);
	mprotect(wiped, PAGE, PROT_NONE);
	printf("overwrote the protected data after a --continue checkpoint\n");
}

/* Pages 0 and 2 written, page 1 never touched; then the whole region and
 * a written private file page lose every permission, and so does a page
 * marked MADV_WIPEONFORK (a --continue writer is a forked copy, where it
 * reads as zeros, so it is copied before the fork). 32 MiB of data at
 * lower addresses come first in the image, so a --continue writer reaches
 * the protected pages well after the program overwrote its own. */
static int protnone(const char *path)
{
	anon = map_anon(3 * PAGE);
	pattern(anon, PAGE, 1);
	pattern(anon + 2 * PAGE, PAGE, 2);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		perror(path), exit(2);
	file = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		perror("mmap file"), exit(2);
	close(fd);
	pattern(file, PAGE, 3); /* copied on write; page 1 stays the file's */
	wiped = map_anon(PAGE);
	pattern(wiped, PAGE, 4);
	if (madvise(wiped, PAGE, MADV_WIPEONFORK))
		perror("madvise"), exit(2);
	if (mprotect(anon, 3 * PAGE, PROT_NONE) || mprotect(file, 2 * PAGE, PROT_NONE) || mprotect(wiped, PAGE, PROT_NONE))
		perror("mprotect"), exit(2);
	unsigned char *before = map_anon(32 << 20);
	memset(before, 1, 32 << 20);
	wait_for_restart(overwrite_protected);
	if (mprotect(anon, 3 * PAGE, PROT_READ) || mprotect(file, 2 * PAGE, PROT_READ) || mprotect(wiped, PAGE, PROT_READ))
		perror("mprotect"), exit(2);
	check(has_pattern(anon, PAGE, 1) && has_pattern(anon + 2 * PAGE, PAGE, 2), "PROT_NONE anonymous data is back");
	check(all_zero(anon + PAGE, PAGE), "PROT_NONE untouched page is zero");
	int file_page_ok = 1;
	for (int i = 0; i < PAGE; i++)
		file_page_ok &= file[PAGE + i] == (unsigned char)('a' + (PAGE + i) % 26);
	check(has_pattern(file, PAGE, 3) && file_page_ok, "PROT_NONE private file copy and file page are back");
	check(has_pattern(wiped, PAGE, 4), "PROT_NONE MADV_WIPEONFORK data is back");
	return failures;
}

/* The VmFlags line of the smaps entry holding addr, as " f1 f2 ... ". */
static void vmflags(const void *addr, char *out, size_t cap)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int here = 0;
	out[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' '))
			here = (unsigned long)addr >= a && (unsigned long)addr < b;
		else if (here && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, cap, "%s", line + 8);
			out[strcspn(out, "\n")] = ' ';
			break;
		}
	}
	if (f)
		fclose(f);
}

static int has_flag(const char *flags, const char *flag)
{
	char word[8];
	snprintf(word, sizeof word, " %s ", flag);
	return strstr(flags, word) != 0;
}

struct advised {
	const char *flag; /* VmFlags mnemonic */
	unsigned char *p;
	int set;          /* the kernel took it (KSM or mseal may be missing) */
};

static int advice(void)
{
	struct advised a[] = {
		{"dc", 0, 0}, {"wf", 0, 0}, {"dd", 0, 0}, {"hg", 0, 0}, {"nh", 0, 0}, {"mg", 0, 0},
		{"sr", 0, 0}, {"rr", 0, 0}, {"lo", 0, 0}, {"lf", 0, 0}, {"sl", 0, 0},
	};
	const int advices[] = {MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTDUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
			       MADV_MERGEABLE, MADV_SEQUENTIAL, MADV_RANDOM};
	const int n = sizeof a / sizeof a[0];
	for (int i = 0; i < n; i++) {
		/* A page of gap between regions, so none merges with the next. */
		unsigned char *p = map_anon(3 * PAGE);
		munmap(p + 2 * PAGE, PAGE);
		a[i].p = p;
		pattern(p, 2 * PAGE, 10 + (unsigned)i);
		int rc;
		if (i < 8)
			rc = madvise(p, 2 * PAGE, advices[i]);
		else if (!strcmp(a[i].flag, "lo"))
			rc = mlock(p, 2 * PAGE);
		else if (!strcmp(a[i].flag, "lf"))
			rc = (int)syscall(SYS_mlock2, p, 2 * PAGE, 1 /* MLOCK_ONFAULT */);
		else
			rc = (int)syscall(462 /* mseal */, p, 2 * PAGE, 0);
		char flags[256];
		vmflags(p, flags, sizeof flags);
		a[i].set = rc == 0 && has_flag(flags, a[i].flag);
		if (!a[i].set)
			printf("skip %s: %s\n", a[i].flag, rc ? strerror(errno) : "not in VmFlags");
	}
	wait_for_restart(0);
	for (int i = 0; i < n; i++) {
		if (!a[i].set)
			continue;
		char flags[256], what[300];
		vmflags(a[i].p, flags, sizeof flags);
		snprintf(what, sizeof what, "%s in VmFlags after restart (VmFlags:%s)", a[i].flag, flags);
		check(has_flag(flags, a[i].flag), what);
		snprintf(what, sizeof what, "%s region data is back", a[i].flag);
		check(has_pattern(a[i].p, 2 * PAGE, 10 + (unsigned)i), what);
	}
	/* Behaviour, not only the flag: what a child sees. */
	unsigned char *wf = a[1].p, *dc = a[0].p;
	pid_t child = fork();
	if (child == 0)
		_exit(all_zero(wf, 2 * PAGE) ? 0 : 1);
	int status;
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child sees the MADV_WIPEONFORK region as zeros");
	child = fork();
	if (child == 0)
		_exit(dc[0] == 0xee); /* the page is not there: SIGSEGV */
	waitpid(child, &status, 0);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "a forked child has no MADV_DONTFORK region");
	return failures;
}

/* Opened O_RDWR, viewed read-only and shared: the view may be made
 * writable later, and writes through it reach the file. */
static int sharedfile(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		perror(path), exit(2);
	char *p = mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		perror("mmap"), exit(2);
	close(fd);
	wait_for_restart(0);
	int rc = mprotect(p, PAGE, PROT_READ | PROT_WRITE);
	char what[200];
	snprintf(what, sizeof what, "the read-only shared view can be made writable (mprotect: %s)", rc ? strerror(errno) : "ok");
	check(rc == 0, what);
	if (rc == 0) {
		memcpy(p, "CHANGED", 7);
		msync(p, PAGE, MS_SYNC);
		char buf[8] = {0};
		fd = open(path, O_RDONLY);
		check(fd >= 0 && pread(fd, buf, 7, 0) == 7 && !memcmp(buf, "CHANGED", 7), "a write through it reaches the file");
		close(fd);
	}
	return failures;
}

/* Larger than this machine's memory, as runtimes reserve address space:
 * only uncharged mappings of that size are allowed at all. */
#define HUGE_RESERVE (64ull << 30)

static int reserve(void)
{
	unsigned char *none = mmap(0, HUGE_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *nores = mmap(0, HUGE_RESERVE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned char *ro = mmap(0, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none == MAP_FAILED || nores == MAP_FAILED || ro == MAP_FAILED)
		perror("mmap"), exit(2);
	pattern(nores + HUGE_RESERVE / 2, PAGE, 5);
	unsigned char page[PAGE];
	pattern(page, PAGE, 6);
	int mem = open("/proc/self/mem", O_RDWR);
	if (mem < 0 || pwrite(mem, page, PAGE, (long)ro) != PAGE)
		perror("/proc/self/mem"), exit(2);
	close(mem);
	char flags[3][256];
	vmflags(none, flags[0], sizeof flags[0]);
	vmflags(nores, flags[1], sizeof flags[1]);
	vmflags(ro, flags[2], sizeof flags[2]);
	printf("before: reserve%s| noreserve%s| read-only%s\n", flags[0], flags[1], flags[2]);
	wait_for_restart(0);
	char now[3][256], what[400];
	vmflags(none, now[0], sizeof now[0]);
	vmflags(nores, now[1], sizeof now[1]);
	vmflags(ro, now[2], sizeof now[2]);
	snprintf(what, sizeof what, "the PROT_NONE reservation is still uncharged (VmFlags:%s)", now[0]);
	check(!has_flag(now[0], "ac") && !strcmp(now[0], flags[0]), what);
	snprintf(what, sizeof what, "the MAP_NORESERVE mapping is still so (VmFlags:%s)", now[1]);
	check(has_flag(now[1], "nr") && !strcmp(now[1], flags[1]), what);
	snprintf(what, sizeof what, "the read-only page is still uncharged (VmFlags:%s)", now[2]);
	check(!has_flag(now[2], "ac") && !strcmp(now[2], flags[2]), what);
	check(has_pattern(nores + HUGE_RESERVE / 2, PAGE, 5), "MAP_NORESERVE data is back");
	check(has_pattern(ro, PAGE, 6) && all_zero(ro + PAGE, PAGE), "data written into the read-only page is back");
	check(mprotect(none, PAGE, PROT_READ | PROT_WRITE) == 0 && (none[0] = 7) == 7, "part of the reservation can be made writable");
	return failures;
}

static void still_running(void)
{
	printf("still running\n");
}

static int lock_all(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		perror("mlockall"), exit(2);
	wait_for_restart(still_running);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	int rc = 2;
	if (argc == 3 && !strcmp(argv[1], "protnone"))
		rc = protnone(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "advice"))
		rc = advice();
	else if (argc == 3 && !strcmp(argv[1], "sharedfile"))
		rc = sharedfile(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "reserve"))
		rc = reserve();
	else if (argc == 2 && !strcmp(argv[1], "mlockall"))
		rc = lock_all();
	else
		fprintf(stderr, "usage: memory-state protnone FILE | advice | sharedfile FILE | reserve | mlockall\n");
	return rc ? 1 : 0;
}
