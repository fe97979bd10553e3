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
 * The kernel also removes watches by itself (a oneshot that fired, a
 * watched file deleted, the instance closed): when the table is full, the
 * slots whose watch fdinfo no longer lists are freed (reclaim).
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
#include <sys/mman.h>
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

#define FDINFO_CAP (1ul << 20) /* fdinfo of 1024 watches is about 150 KiB */
#define LIVE_MAX 65536

/* The wds /proc/self/fdinfo/`fd` lists, into `live`: how many (0 if the fd
 * is closed or not an inotify any more). */
static unsigned live_wds(int fd, char *text, int32_t *live)
{
	struct line p = {.len = 0};
	line_str(&p, "/proc/self/fdinfo/");
	line_u64(&p, (uint64_t)fd);
	long len = 0, f = sys_openat(AT_FDCWD, p.buf, O_RDONLY | O_CLOEXEC, 0);
	for (long n = 1; f >= 0 && n > 0 && (unsigned long)len < FDINFO_CAP; len += n)
		n = sys_read((int)f, text + len, FDINFO_CAP - (unsigned long)len);
	if (f >= 0)
		sys_close((int)f);
	unsigned n = 0;
	for (const char *s = text, *end = text + (len > 0 ? len : 0); s < end && n < LIVE_MAX;) {
		const char *eol = s;
		uint64_t wd;
		while (eol < end && *eol != '\n')
			eol++;
		if (str_starts(s, "inotify wd:") && fdinfo_digits(s + 11, eol, 16, &wd))
			live[n++] = (int32_t)wd;
		s = eol + 1;
	}
	return n;
}

/* Frees the slots of every watch the kernel no longer has: one fdinfo
 * read per instance. */
static void reclaim(void)
{
	long m = sys_mmap(0, FDINFO_CAP + LIVE_MAX * sizeof(int32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return;
	char *text = (char *)m;
	int32_t *live = (int32_t *)(text + FDINFO_CAP);
	for (unsigned i = 0; i < SLOTS; i++) {
		int32_t fd = slots[i].fd, seen = 0;
		if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) < SLOT_USED)
			continue;
		for (unsigned j = 0; j < i && !seen; j++) /* its instance was read already */
			seen = __atomic_load_n(&slots[j].state, __ATOMIC_ACQUIRE) >= SLOT_USED && slots[j].fd == fd;
		if (seen)
			continue;
		unsigned n = live_wds(fd, text, live);
		for (unsigned k = i; k < SLOTS; k++) {
			int32_t st = __atomic_load_n(&slots[k].state, __ATOMIC_ACQUIRE), alive = 0;
			if (st < SLOT_USED || slots[k].fd != fd)
				continue;
			for (unsigned w = 0; w < n && !alive; w++)
				alive = live[w] == slots[k].wd;
			if (!alive && claim(&slots[k].state, st))
				__atomic_store_n(&slots[k].state, SLOT_FREE, __ATOMIC_RELEASE);
		}
	}
	sys_munmap(text, FDINFO_CAP + LIVE_MAX * sizeof(int32_t));
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
	for (int round = 0; round < 2 && !s; round++) {
		if (round)
			reclaim();
		for (unsigned i = 0; i < SLOTS && !s; i++)
			if (claim(&slots[i].state, SLOT_FREE))
				s = &slots[i];
	}
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
