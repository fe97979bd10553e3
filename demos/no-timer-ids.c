/* Runs a command as on a kernel before Linux 6.17: a seccomp filter makes
 * prctl(PR_TIMER_CREATE_RESTORE_IDS, ...) fail with EINVAL, as an unknown
 * prctl does there. test/e2e/posix-timers.test.ts runs `ckpt restart`
 * under it: an image with POSIX timers must be refused before anything is
 * torn down. Usage: no-timer-ids COMMAND [ARGS...] */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no-timer-ids COMMAND [ARGS...]\n");
		return 2;
	}
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 77 /* PR_TIMER_CREATE_RESTORE_IDS */, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
	/* Root may install it as is; others need no_new_privs first. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0 &&
	    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)) {
		perror("no-timer-ids: seccomp");
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror("no-timer-ids: exec");
	return 127;
}
