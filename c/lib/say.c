/*
 * Messages to the user. A checkpoint message must never hurt the program:
 * it goes to fd 2 only while fd 2 is still the stderr the program was
 * launched with (a program may close it and reuse the number for its own
 * data), and a write to a pipe nobody reads must not kill it with SIGPIPE.
 */
#include <signal.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../sys.h"

/* Swallows a signal our own syscall raised, unless it was already pending
 * when the handler began (then it is the program's and must stay). The
 * handler runs with every signal blocked, so the signal is still pending. */
void consume_own_signal(int sig)
{
	uint64_t pending = 0, bit = 1ull << (sig - 1);
	sys_rt_sigpending(&pending);
	if (!(pending & bit) || (ckpt_config.sigs_pending_at_entry & bit))
		return;
	struct { long sec, nsec; } zero = {0, 0};
	sys_rt_sigtimedwait(&bit, 0, &zero);
}

/* fd 2's identity now: say() writes only while fd 2 still has it. */
void record_stderr_identity(uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	if (sys_fstat(2, &st) == 0)
		*dev = st.st_dev, *ino = st.st_ino;
}

int stderr_is_regular_file(void)
{
	struct stat st;
	return sys_fstat(2, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether fd 2 is still the stderr ckpt was given, the one say() writes to. */
int stderr_is_ours(void)
{
	struct stat st;
	return sys_fstat(2, &st) == 0 && st.st_dev == ckpt_config.stderr_dev && st.st_ino == ckpt_config.stderr_ino;
}

/* After a restart, fd 2 is the restart's stderr only if it was ours at the
 * checkpoint (then the image says "inherited"); otherwise it is the
 * program's own file again, which a line of ours would corrupt. */
void stderr_after_restart(void)
{
	if (ckpt_config.stderr_ours_at_capture)
		record_stderr_identity(&ckpt_config.stderr_dev, &ckpt_config.stderr_ino);
	else
		ckpt_config.stderr_dev = ckpt_config.stderr_ino = ~0ull; /* no file has it */
}

void say(const struct line *l)
{
	if (!stderr_is_ours())
		return;
	struct line out = {.len = 0};
	line_str(&out, l->buf);
	line_str(&out, "\n");
	if (sys_write(2, out.buf, out.len) == -32 /* EPIPE */)
		consume_own_signal(SIGPIPE);
}
