/* vfork_on_stack (c/lib/vfork_on_stack.S), which the background writer's
 * first child is made with: the child shares our memory (what it writes
 * is there when the call returns, with no wait of ours: we slept until it
 * exited), runs on the stack it was given and leaves ours alone, does not
 * signal us, and exits 0 when its function returns. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>

long vfork_on_stack(void *stack_top, void (*fn)(void *), void *arg);

static int passed, failed;

static void expect(int ok, const char *what)
{
	if (ok)
		passed++;
	else
		failed++, printf("FAIL: %s\n", what);
}

struct probe {
	volatile long pid_seen;
	volatile uintptr_t stack_seen;
	volatile int done;
};

static void child(void *arg)
{
	struct probe *p = arg;
	int on_stack;
	p->pid_seen = getpid();
	p->stack_seen = (uintptr_t)&on_stack;
	p->done = 1;
}

static volatile sig_atomic_t sigchld;
static void on_chld(int sig) { (void)sig; sigchld = 1; }

int main(void)
{
	signal(SIGCHLD, on_chld);
	size_t len = 1 << 16;
	char *stack = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile uint64_t canary[64];
	for (int i = 0; i < 64; i++)
		canary[i] = 0x5a5a5a5a00000000ull + i;
	struct probe p = {0, 0, 0};
	long pid = vfork_on_stack(stack + len, child, &p);
	expect(pid > 0, "a child was made");
	expect(p.done == 1, "its write is in our memory when the call returns");
	expect(p.pid_seen == pid && pid != getpid(), "it ran as its own process");
	expect(p.stack_seen >= (uintptr_t)stack && p.stack_seen < (uintptr_t)stack + len, "it ran on the stack it was given");
	int intact = 1;
	for (int i = 0; i < 64; i++)
		intact &= canary[i] == 0x5a5a5a5a00000000ull + i;
	expect(intact, "our stack is untouched");
	int status = -1;
	expect(waitpid((pid_t)pid, &status, WNOHANG) == -1 && errno == ECHILD, "plain waitpid does not see it");
	expect(waitpid((pid_t)pid, &status, __WCLONE) == pid, "__WCLONE reaps it");
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "it exited 0 after its function returned");
	expect(!sigchld, "no SIGCHLD");
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
