/*
 * The paths of inotify watches. The kernel keeps a watch by inode, and
 * shows it in /proc/self/fdinfo only by inode and a file handle that
 * open_by_handle_at turns back into a file only with CAP_DAC_READ_SEARCH.
 * So libckpt interposes the calls that make and remove watches and keeps
 * the path each watch was made by, per (fd, wd), in a static table; the
 * checkpoint (c/kinds/fd_inotify.c) then checks that each path still
 * leads to the inode fdinfo names. A relative path is made absolute
 * against the working directory of the moment, as the kernel resolved it.
 *
 * The checkpoint handler reads the table while the program's threads are
 * stopped, possibly in the middle of a call here: a slot is claimed with
 * a compare-and-swap, filled, and only then published (SLOT_USED, release
 * order), so the handler never reads a half-written path. A watch whose
 * slot was not published yet is reported as not recorded (the checkpoint
 * is refused, the program runs on). Every call here is a raw syscall: the
 * wrappers are called from the program, and the table is read in a
 * signal handler.
 *
 * Also kept per fd: the last wd the kernel handed out. Wds come cyclically
 * (the next is the last plus one, even after the last was removed), and
 * the restart makes the next one come out the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/inotify.h>
#include "ckpt_lib.h"
#include "../sys.h"

#define SLOTS 1024
#define INSTANCES 256
#define INOTIFY_PATH_MAX 1024 /* longer paths are refused at checkpoint, named */

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_USED, SLOT_TOO_LONG };

struct recorded_watch {
	int32_t state; /* SLOT_* */
	int32_t fd, wd;
	uint32_t add_flags; /* IN_DONT_FOLLOW, IN_ONLYDIR of the call */
	char path[INOTIFY_PATH_MAX];
};

static struct recorded_watch slots[SLOTS];
static struct { int32_t fd, last_wd; } instances[INSTANCES]; /* fd + 1, so 0 is free */

static int claim(int32_t *state, int32_t from)
{
	return __atomic_compare_exchange_n(state, &from, SLOT_CLAIMED, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* A new instance at `fd`: whatever was recorded for an older one there
 * (closed without our knowing) is forgotten. */
static void forget_fd(int fd)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) >= SLOT_USED && slots[i].fd == fd)
			__atomic_store_n(&slots[i].state, SLOT_FREE, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < INSTANCES; i++)
		if (__atomic_load_n(&instances[i].fd, __ATOMIC_ACQUIRE) == fd + 1)
			__atomic_store_n(&instances[i].last_wd, 0, __ATOMIC_RELEASE);
}

static void note_wd(int fd, int wd)
{
	for (unsigned i = 0; i < INSTANCES; i++) {
		int32_t at = __atomic_load_n(&instances[i].fd, __ATOMIC_ACQUIRE);
		if (!at) {
			int32_t seen = 0;
			/* on failure, `seen` is whoever took it meanwhile: maybe this fd */
			at = __atomic_compare_exchange_n(&instances[i].fd, &seen, fd + 1, 0, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE) ? fd + 1 : seen;
		}
		if (at != fd + 1)
			continue;
		int32_t last = __atomic_load_n(&instances[i].last_wd, __ATOMIC_ACQUIRE);
		while (wd > last && !__atomic_compare_exchange_n(&instances[i].last_wd, &last, wd, 0, __ATOMIC_ACQ_REL,
								 __ATOMIC_ACQUIRE))
			;
		return;
	}
}

/* `path` as the kernel resolved it: absolute, or joined to the cwd. 0 when
 * that does not fit. */
static int absolute(const char *path, char *out)
{
	size_t at = 0;
	if (path[0] != '/') {
		long n = sys_getcwd(out, INOTIFY_PATH_MAX);
		if (n <= 0 || out[0] != '/')
			return 0;
		at = str_len(out);
		if (at > 1)
			out[at++] = '/';
	}
	if (at + str_len(path) >= INOTIFY_PATH_MAX)
		return 0;
	str_copy(out + at, INOTIFY_PATH_MAX - at, path);
	return 1;
}

static void record(int fd, int wd, const char *path, uint32_t mask)
{
	note_wd(fd, wd);
	struct recorded_watch *s = 0;
	for (unsigned i = 0; i < SLOTS && !s; i++) { /* the same watch again (IN_MASK_ADD, another name) */
		int32_t state = __atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE);
		if (state >= SLOT_USED && slots[i].fd == fd && slots[i].wd == wd && claim(&slots[i].state, state))
			s = &slots[i];
	}
	for (unsigned i = 0; i < SLOTS && !s; i++)
		if (claim(&slots[i].state, SLOT_FREE))
			s = &slots[i];
	if (!s)
		return; /* full: the checkpoint will say this watch was not recorded */
	s->fd = fd, s->wd = wd, s->add_flags = mask & (IN_DONT_FOLLOW | IN_ONLYDIR);
	int fits = absolute(path, s->path);
	__atomic_store_n(&s->state, fits ? SLOT_USED : SLOT_TOO_LONG, __ATOMIC_RELEASE);
}

__attribute__((visibility("default"))) int inotify_init1(int flags)
{
	long fd = sys_inotify_init1(flags);
	if (fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	forget_fd((int)fd);
	return (int)fd;
}

__attribute__((visibility("default"))) int inotify_init(void)
{
	return inotify_init1(0);
}

__attribute__((visibility("default"))) int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	long wd = sys_inotify_add_watch(fd, path, mask);
	if (wd < 0) {
		errno = (int)-wd;
		return -1;
	}
	record(fd, (int)wd, path, mask);
	return (int)wd;
}

__attribute__((visibility("default"))) int inotify_rm_watch(int fd, int wd)
{
	long err = sys_inotify_rm_watch(fd, wd);
	if (err < 0) {
		errno = (int)-err;
		return -1;
	}
	for (unsigned i = 0; i < SLOTS; i++)
		if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) >= SLOT_USED && slots[i].fd == fd && slots[i].wd == wd)
			__atomic_store_n(&slots[i].state, SLOT_FREE, __ATOMIC_RELEASE);
	return 0;
}

/* Whether fds a and b are one open file (a dup made after the watch). */
static int same_file(int a, int b)
{
	int pid = (int)sys_getpid();
	return a == b || sys_kcmp(pid, pid, 0 /* KCMP_FILE */, (unsigned long)a, (unsigned long)b) == 0;
}

int inotify_recorded(int fd, int wd, const char **path, uint32_t *add_flags)
{
	for (unsigned i = 0; i < SLOTS; i++) {
		int32_t state = __atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE);
		if (state >= SLOT_USED && slots[i].wd == wd && same_file(slots[i].fd, fd)) {
			*path = slots[i].path;
			*add_flags = slots[i].add_flags;
			return state == SLOT_USED ? 1 : -1;
		}
	}
	return 0;
}

int32_t inotify_last_wd(int fd)
{
	for (unsigned i = 0; i < INSTANCES; i++) {
		int32_t at = __atomic_load_n(&instances[i].fd, __ATOMIC_ACQUIRE);
		if (at && same_file(at - 1, fd))
			return __atomic_load_n(&instances[i].last_wd, __ATOMIC_ACQUIRE);
	}
	return 0;
}
