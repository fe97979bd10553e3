/*
 * `ckpt restart --lazy`, phase 1 (docs/lazy-restart.md): the userfaultfd
 * the page server will answer the program's first touches through, made
 * here, before anything is torn down, so that where none can be had the
 * restart still goes on, eagerly, after one line saying why.
 *
 * It must serve the faults the kernel takes on the program's behalf too (a
 * read() into a page not loaded yet): a UFFD_USER_MODE_ONLY one, all an
 * unprivileged user gets while vm.unprivileged_userfaultfd is 0, would
 * make such a read() fail with EFAULT, a silent difference. So it is the
 * userfaultfd syscall without that flag (CAP_SYS_PTRACE or the sysctl at
 * 1), or /dev/userfaultfd (Linux 6.1; its mode decides), or none at all.
 */
#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

/* The events the server must see to keep anonymous memory's meaning:
 * released pages zero from then on, never image bytes (REMOVE, UNMAP), and
 * moved ones loaded where they went (REMAP). EVENT_FORK needs
 * CAP_SYS_PTRACE: libckpt waits for the loading to end before a fork
 * instead (c/lib/lazy_wait.c). */
#define LAZY_FEATURES (UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP)

static long new_userfaultfd(void)
{
	long fd = SYS1(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		long dev = sys_openat(AT_FDCWD, "/dev/userfaultfd", O_RDWR | O_CLOEXEC, 0);
		if (dev < 0)
			return fd;
		fd = sys_ioctl((int)dev, USERFAULTFD_IOC_NEW, (void *)(long)(O_CLOEXEC | O_NONBLOCK));
		sys_close((int)dev);
	}
	if (fd < 0)
		return fd;
	struct uffdio_api api = {.api = UFFD_API, .features = LAZY_FEATURES};
	long err = sys_ioctl((int)fd, UFFDIO_API, &api);
	if (err < 0) {
		sys_close((int)fd);
		return err;
	}
	return fd;
}

static void say_eager(const char *why)
{
	struct line l = {.len = 0};
	line_str(&l, "ckpt: --lazy: ");
	line_str(&l, why);
	line_str(&l, "; restarting eagerly\n");
	sys_write(restart.err_fd, l.buf, l.len);
}

static const char *lazy_setting(char **envp)
{
	for (char **env = envp; *env; env++)
		if (str_starts(*env, CKPT_ENV_LAZY "="))
			return *env + sizeof CKPT_ENV_LAZY;
	return 0;
}

void lazy_open(const struct ckpt_header *hdr, char **envp)
{
	const char *setting = lazy_setting(envp);
	if (!setting)
		return;
	if (hdr->nmembers || restart.tree_index) {
		/* Every process of a tree: the root says it once. */
		if (!restart.tree_index)
			say_eager("a process tree's memory is loaded before it runs");
		return;
	}
	long fd = str_eq(setting, CKPT_LAZY_TEST_UNAVAILABLE) ? -1 /* EPERM */ : new_userfaultfd();
	if (fd < 0) {
		say_eager("no userfaultfd here can serve the kernel's own page faults (allow one with "
			  "`sysctl vm.unprivileged_userfaultfd=1`, or read-write access to /dev/userfaultfd)");
		return;
	}
	restart.lazy_fd = to_high(fd, "cannot keep the userfaultfd", 0);
	restart.lazy = 1;
}
