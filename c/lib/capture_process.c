/*
 * Process-wide state: identity, the mm layout the kernel reports, signal
 * dispositions, timers, limits and terminal settings.
 */
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include "ckpt_lib.h"
#include "../sys.h"

static void capture_identity(struct ckpt_header *h)
{
	struct utsname u;
	if (sys_uname(&u) == 0) {
		str_copy(h->hostname, sizeof h->hostname, u.nodename);
		str_copy(h->kernel_release, sizeof h->kernel_release, u.release);
	}
	uint32_t lo, hi, a = 0xd, b, cc = 0, d;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	h->xcr0 = (uint64_t)hi << 32 | lo;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(cc), "=d"(d));
	h->xsave_size = b;
	h->pid = (int32_t)sys_getpid();
	h->ppid = (int32_t)sys_getppid();
	if (ckpt_config.daemon_root) /* the restart detaches it (daemon_root.c) */
		h->flags |= CKPT_HEADER_DAEMON;
	h->pgid = (int32_t)sys_getpgid(0);
	h->sid = (int32_t)SYS1(__NR_getsid, 0);
	h->tree_root_pid = ckpt_config.pid; /* the root's, in every process of the tree */
	h->exit_status_on_stop = CKPT_EXIT_CHECKPOINTED;
}

static int capture_mm(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/stat");
	if (len <= 0)
		return capture_fail(c, "cannot read /proc/self/stat", len);
	struct ckpt_mm *mm = &c->hdr->mm;
	mm->start_code = stat_field(c->text, len, 26);
	mm->end_code = stat_field(c->text, len, 27);
	mm->start_stack = stat_field(c->text, len, 28);
	mm->start_data = stat_field(c->text, len, 45);
	mm->end_data = stat_field(c->text, len, 46);
	mm->start_brk = stat_field(c->text, len, 47);
	mm->arg_start = stat_field(c->text, len, 48);
	mm->arg_end = stat_field(c->text, len, 49);
	mm->env_start = stat_field(c->text, len, 50);
	mm->env_end = stat_field(c->text, len, 51);
	capture_brk(c);
	return 0;
}

/* The live value (stat's can lag). brk takes the memory map's lock for
 * writing even to only ask, so it waits out a walk of smaps in progress:
 * the handler asks before it starts one (smaps_walk.c), the program being
 * stopped, and this asks only if nobody has. */
void capture_brk(struct capture *c)
{
	if (!c->hdr->mm.brk)
		c->hdr->mm.brk = (uint64_t)sys_brk(0);
}

static int capture_names(struct capture *c)
{
	struct ckpt_header *h = c->hdr;
	long len = read_proc_file(c, "/proc/self/cmdline");
	if (len > 0) {
		h->argv_str = capture_string(c, c->text, (size_t)len);
		h->argv_len = (uint32_t)len;
	}
	len = read_proc_file(c, "/proc/self/auxv");
	if (len > 0) {
		uint32_t words = (uint32_t)len / 8;
		if (words > CKPT_MAX_AUXV)
			return capture_fail(c, "the auxiliary vector is larger than the image format allows", 0);
		for (uint32_t i = 0; i < words; i++)
			__builtin_memcpy(&h->auxv[i], c->text + 8 * i, 8);
		h->auxv_words = words;
	}
	if (ckpt_config.exe_path[0])
		h->exe_str = capture_string(c, ckpt_config.exe_path, str_len(ckpt_config.exe_path));
	len = sys_getcwd(c->text, CKPT_PATH_MAX);
	if (len < 0)
		return capture_fail(c, "cannot read the working directory", len);
	h->cwd_str = capture_string(c, c->text, str_len(c->text));
	sys_prctl(PR_GET_NAME, (unsigned long)h->comm, 0, 0, 0);
	return 0;
}

static void capture_signals(struct ckpt_header *h)
{
	for (int sig = 1; sig <= CKPT_MAX_SIGNALS; sig++)
		sys_rt_sigaction(sig, 0, &h->sigactions[sig - 1]);
	for (int which = 0; which < 3; which++)
		sys_getitimer(which, &h->itimers[which]);
	for (int r = 0; r < CKPT_MAX_RLIMITS; r++)
		sys_prlimit(r, 0, &h->rlimits[r]);
	h->trigger_signal = (uint32_t)ckpt_config.signal;
}

static void capture_termios(struct ckpt_header *h)
{
	for (int fd = 0; fd < 3; fd++) {
		struct termios t; /* glibc's struct matches the kernel's for TCGETS on x86-64 */
		if (sys_ioctl(fd, TCGETS, &t) != 0)
			continue;
		struct ckpt_termios *out = &h->termios[fd];
		out->iflag = t.c_iflag, out->oflag = t.c_oflag, out->cflag = t.c_cflag, out->lflag = t.c_lflag;
		out->line = t.c_line;
		__builtin_memcpy(out->cc, t.c_cc, sizeof out->cc);
		out->valid = 1;
	}
}

int capture_process(struct capture *c)
{
	struct ckpt_header *h = c->hdr;
	capture_identity(h);
	capture_signals(h);
	capture_termios(h);
	h->restart_info_addr = (uint64_t)&ckpt_restart_info;
	h->libc = CKPT_LIBC_OWN;
	if (refuse_unrestorable(c) || capture_timers(c) || capture_mm(c) || capture_names(c) ||
	    capture_process_state(c))
		return -1;
	return 0;
}
