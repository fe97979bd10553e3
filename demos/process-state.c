/* Process-wide and per-thread kernel state that must survive a restart:
 * the file-creation mask, THP disable, no-new-privs, child-subreaper,
 * oom_score_adj, membarrier registrations, and for two threads their rseq
 * registration and alternate signal stack, with the main thread checkpointed
 * while it runs a handler on that stack.
 *
 * Prints "before: ..." and waits for a line on stdin (the test sends it to
 * the restarted program); then prints "after: ..." and, for each item,
 * "same NAME" or "DIFF NAME before -> after". Exit status 0 only if all
 * is the same and rseq and the altstack check out.
 *
 * Arguments: a number sets that oom_score_adj instead of 789; "plain" sets
 * none of the settings (the restart's own must not leak in); "aio" holds
 * an io_setup context (refused) or "timer" a POSIX timer (restored)
 * instead, "own-rseq" an rseq area of its own (with glibc's switched off; the checkpoint must
 * be refused) and, once told to go on, checks the context
 * or timer still works.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MEMBARRIER_GET_REGISTRATIONS 512 /* Linux 6.3; older headers lack it */
#define MEMBARRIER_REGISTER_PRIVATE_EXPEDITED 16
#define RSEQ_SIG 0x53053053

extern const long __rseq_offset __attribute__((weak));

struct state {
	long umask, thp, nnp, subreaper, oom, membarrier;
};

static long read_umask(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Umask: %lo", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static long read_oom(void)
{
	long v = -9999;
	FILE *f = fopen("/proc/self/oom_score_adj", "r");
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -9999;
	if (f)
		fclose(f);
	return v;
}

static void read_state(struct state *s)
{
	int subreaper = -1;
	s->umask = read_umask();
	s->thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	s->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
	s->subreaper = subreaper;
	s->oom = read_oom();
	s->membarrier = syscall(SYS_membarrier, MEMBARRIER_GET_REGISTRATIONS, 0, 0);
}

static void print_state(const char *when, const struct state *s)
{
	printf("%s: umask=%03lo thp_disable=%ld no_new_privs=%ld child_subreaper=%ld oom_score_adj=%ld membarrier=%#lx\n",
	       when, s->umask, s->thp, s->nnp, s->subreaper, s->oom, s->membarrier);
}

static int compare(const char *name, long before, long after)
{
	if (before == after) {
		printf("same %s\n", name);
		return 0;
	}
	printf("DIFF %s %ld -> %ld\n", name, before, after);
	return 1;
}

/* This thread's rseq area is live if the kernel keeps its cpu_id equal to
 * the cpu the getcpu syscall reports (the vDSO is avoided: glibc may read it
 * from rseq) and a second registration is refused with EBUSY. */
static int check_rseq(const char *who)
{
	if (!&__rseq_offset) {
		printf("%s rseq: glibc registers none\n", who);
		return 0;
	}
	volatile uint32_t *area = (uint32_t *)((char *)__builtin_thread_pointer() + __rseq_offset);
	int bad = 0;
	for (int i = 0; i < 3; i++) {
		unsigned cpu = 0;
		syscall(SYS_getcpu, &cpu, 0, 0);
		uint32_t seen = area[1]; /* cpu_id */
		unsigned again = 0;
		syscall(SYS_getcpu, &again, 0, 0);
		bad = seen != cpu && seen != again;
		if (!bad)
			break;
	}
	long rc = syscall(SYS_rseq, area, 32, 0, RSEQ_SIG);
	const char *reg = rc == 0 ? "registered anew (was not registered)" : errno == 16 ? "EBUSY" : strerror(errno);
	printf("%s rseq: cpu_id %s, second registration %s\n", who, bad ? "STALE" : "live", reg);
	if (rc == 0)
		syscall(SYS_rseq, area, 32, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG);
	return bad || !(rc < 0 && errno == 16);
}

static int check_altstack(const char *who, void *base, size_t size, int expect_on)
{
	stack_t now;
	sigaltstack(0, &now);
	int ok = now.ss_sp == base && now.ss_size == size && !!(now.ss_flags & SS_ONSTACK) == expect_on;
	printf("%s altstack: %s, %s\n", who, now.ss_sp == base && now.ss_size == size ? "same area" : "DIFFERENT AREA",
	       now.ss_flags & SS_ONSTACK ? "SS_ONSTACK" : now.ss_flags & SS_DISABLE ? "SS_DISABLE" : "not on it");
	return !ok;
}

static int wake[2];
static char thread_stack[65536], main_stack[65536];
static int thread_failed;

/* Also on its alternate stack, in a handler, when the checkpoint comes. */
static void on_urg(int sig)
{
	(void)sig;
	thread_failed |= check_altstack("thread", thread_stack, sizeof thread_stack, 1);
	printf("thread ready\n");
	fflush(stdout);
	char c;
	while (read(wake[0], &c, 1) != 1)
		;
	thread_failed |= check_rseq("thread") | check_altstack("thread", thread_stack, sizeof thread_stack, 1);
}

static void *second_thread(void *arg)
{
	(void)arg;
	stack_t ss = {.ss_sp = thread_stack, .ss_size = sizeof thread_stack};
	sigaltstack(&ss, 0);
	struct sigaction sa = {.sa_handler = on_urg, .sa_flags = SA_ONSTACK};
	sigaction(SIGURG, &sa, 0);
	raise(SIGURG);
	thread_failed |= check_altstack("thread", thread_stack, sizeof thread_stack, 0);
	return 0;
}

static void wait_for_go(void)
{
	char line[64];
	while (!fgets(line, sizeof line, stdin))
		if (feof(stdin))
			exit(3);
}

static struct state before;
static int failed;

/* Runs on the alternate stack: the checkpoint interrupts it here. */
static void on_usr1(int sig)
{
	(void)sig;
	failed |= check_altstack("main", main_stack, sizeof main_stack, 1);
	printf("main ready\n");
	fflush(stdout);
	wait_for_go();
	struct state after;
	read_state(&after);
	print_state("after", &after);
	failed |= compare("umask", before.umask, after.umask);
	failed |= compare("thp_disable", before.thp, after.thp);
	failed |= compare("no_new_privs", before.nnp, after.nnp);
	failed |= compare("child_subreaper", before.subreaper, after.subreaper);
	failed |= compare("oom_score_adj", before.oom, after.oom);
	failed |= compare("membarrier", before.membarrier, after.membarrier);
	failed |= check_rseq("main");
	failed |= check_altstack("main", main_stack, sizeof main_stack, 1);
}

static int hold_aio(void)
{
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, 4, &ctx) < 0) {
		perror("io_setup");
		return 2;
	}
	printf("aio context %#llx\nready\n", (unsigned long long)ctx);
	fflush(stdout);
	wait_for_go();
	static char byte = 'x';
	struct iocb cb = {.aio_lio_opcode = IOCB_CMD_PWRITE, .aio_fildes = (uint32_t)open("/dev/null", 1),
			  .aio_buf = (uint64_t)&byte, .aio_nbytes = 1};
	struct iocb *list[1] = {&cb};
	struct io_event ev;
	long rc = syscall(SYS_io_submit, ctx, 1, list);
	if (rc == 1)
		rc = syscall(SYS_io_getevents, ctx, 1, 1, &ev, 0);
	printf("io_submit after: %s\n", rc == 1 ? "ok" : strerror(errno));
	return rc != 1;
}

static int hold_timer(void)
{
	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	if (timer_create(CLOCK_MONOTONIC, &ev, &id) < 0) {
		perror("timer_create");
		return 2;
	}
	struct itimerspec it = {.it_value = {1000, 0}};
	timer_settime(id, 0, &it, 0);
	printf("timer %ld\nready\n", (long)(intptr_t)id);
	fflush(stdout);
	wait_for_go();
	struct itimerspec now;
	int rc = timer_gettime(id, &now);
	printf("timer after: %s\n", rc == 0 && now.it_value.tv_sec > 0 ? "armed" : "GONE");
	return rc != 0;
}

/* KSM for the whole process: refused, the flag still set afterwards. */
static int hold_memory_merge(void)
{
	if (prctl(67 /* PR_SET_MEMORY_MERGE */, 1, 0, 0, 0) < 0) {
		printf("memory merge: cannot set (%s)\n", strerror(errno));
		return 2;
	}
	printf("memory merge on\nready\n");
	fflush(stdout);
	wait_for_go();
	int on = prctl(68 /* PR_GET_MEMORY_MERGE */, 0, 0, 0, 0);
	printf("memory merge after: %s\n", on == 1 ? "on" : "OFF");
	return on != 1;
}

/* Run with GLIBC_TUNABLES=glibc.pthread.rseq=0: an rseq area of its own. */
static int hold_own_rseq(void)
{
	static struct { _Alignas(32) uint32_t words[8]; } area;
	if (syscall(SYS_rseq, &area, 32, 0, 0x0badc0de) < 0) {
		printf("own rseq: cannot register (%s)\n", strerror(errno));
		return 2;
	}
	printf("own rseq registered\nready\n");
	fflush(stdout);
	wait_for_go();
	long rc = syscall(SYS_rseq, &area, 32, 0, 0x0badc0de);
	printf("own rseq after: %s\n", rc < 0 && errno == EBUSY ? "still registered" : "LOST");
	return !(rc < 0 && errno == EBUSY);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "aio"))
		return hold_aio();
	if (argc > 1 && !strcmp(argv[1], "timer"))
		return hold_timer();
	if (argc > 1 && !strcmp(argv[1], "own-rseq"))
		return hold_own_rseq();
	if (argc > 1 && !strcmp(argv[1], "memory-merge"))
		return hold_memory_merge();
	if (argc < 2 || strcmp(argv[1], "plain")) {
		umask(027);
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		FILE *oom = fopen("/proc/self/oom_score_adj", "w");
		if (oom) {
			fprintf(oom, "%d\n", argc > 1 ? atoi(argv[1]) : 789);
			fclose(oom);
		}
		syscall(SYS_membarrier, MEMBARRIER_REGISTER_PRIVATE_EXPEDITED, 0, 0);
	}
	read_state(&before);
	print_state("before", &before);

	pipe(wake);
	pthread_t t;
	pthread_create(&t, 0, second_thread, 0);
	stack_t ss = {.ss_sp = main_stack, .ss_size = sizeof main_stack};
	sigaltstack(&ss, 0);
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
	sigaction(SIGUSR1, &sa, 0);
	raise(SIGUSR1);
	write(wake[1], "x", 1);
	pthread_join(t, 0);
	failed |= thread_failed;
	printf("%s\n", failed ? "FAIL" : "PASS");
	return failed;
}
