/*
 * The root's side of a tree's checkpoint (docs/process-trees.md, steps
 * 2-7), run by the root's handler with its own threads stopped:
 *
 *   tree_begin            lists the tree, refuses what cannot be saved,
 *                         makes the control area, asks every live member
 *                         to stop, and lists again until no new member
 *                         appears; every member is then stopped in its
 *                         handler, so nothing moves between them.
 *   tree_capture_members  CAPTURE: each member writes its own image
 *                         (incremental against its previous one with
 *                         --continue or --interval); the member table is
 *                         filled from their answers. The root's own image
 *                         follows, in the background writer when asked.
 *   tree_end              RESUME (--continue, or any failure, whose
 *                         member files are removed) or EXIT (stop mode:
 *                         the root returns only once every member is gone).
 *
 * A root without children does none of this: its checkpoint is the
 * single process's, unchanged.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

/* How long a member may take to answer the request (it may be between two
 * programs, its signal held blocked across an exec). */
#define ANSWER_DEADLINE_NS (10ull * 1000 * 1000 * 1000)

static struct tree_slot *slot_of(struct tree_control *t, int pid)
{
	for (uint32_t i = 0; i < t->nslots; i++)
		if (tree_slot_at(t, i)->pid == pid)
			return tree_slot_at(t, i);
	return 0;
}

static int open_control(struct capture *c)
{
	long fd = sys_memfd_create("ckpt-tree", 1 /* MFD_CLOEXEC */);
	if (fd < 0)
		return capture_fail(c, "cannot create the tree's control area", fd);
	uint64_t len = tree_control_size(CKPT_MAX_MEMBERS);
	long err = sys_ftruncate((int)fd, (long)len);
	long m = err < 0 ? err : sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (m < 0) {
		sys_close((int)fd);
		return capture_fail(c, "cannot map the tree's control area", m);
	}
	struct tree_control *t = (struct tree_control *)m;
	t->magic = TREE_CONTROL_MAGIC;
	t->tree_id = c->hdr->image_id;
	t->root_pid = (int32_t)sys_getpid();
	str_copy(t->image_path, sizeof t->image_path, ckpt_config.image_path);
	for (int i = 0; i < 64; i++)
		t->inherited_fds[i] = ckpt_config.inherited_fds[i];
	c->tree = t, c->tree_len = len, c->tree_fd = (int)fd;
	return 0;
}

static void wake_shared(uint32_t *word)
{
	sys_futex(word, FUTEX_WAKE, 0x7fffffff, 0);
}

/* A member that exited on its own before it stopped: not a failure. All
 * members stop before any is saved, so the checkpoint is of a moment just
 * after its exit: the tree is listed again, where it is a zombie member
 * (made again at restart, exiting with the same status) or, reaped by its
 * parent meanwhile, not there. Its pipe bytes are in the pipes, saved by
 * their readers. */
static void mark_exited(struct tree_control *t, struct tree_slot *s)
{
	__atomic_store_n(&s->state, SLOT_EXITED, __ATOMIC_RELEASE);
	t->exited++;
}

/* Asks `m` to stop: its slot, then the trigger with the request value,
 * through a pidfd taken before checking the process is still that member
 * (same parent, still running libckpt): a member that exited and was
 * reaped since the listing must not have its pid's next owner signalled. */
static int ask(struct capture *c, const struct ckpt_member *m, uint64_t since)
{
	struct tree_control *t = c->tree;
	/* Before the request: a program that came without libckpt after all
	 * could unblock the trigger and die of its default action. */
	if (tree_await_libckpt(c, m->pid, m->ppid, since, ANSWER_DEADLINE_NS))
		return -1;
	struct tree_slot *s = tree_slot_at(t, t->nslots);
	*s = (struct tree_slot){.pid = m->pid, .state = SLOT_ASKED};
	uint64_t value = CKPT_TREE_SIGVAL | (uint64_t)c->tree_fd << CKPT_TREE_FD_SHIFT |
			 (uint64_t)t->nslots << CKPT_TREE_SLOT_SHIFT;
	t->nslots++;
	siginfo_t info = {0};
	info.si_signo = ckpt_config.signal;
	info.si_code = SI_QUEUE;
	info.si_pid = (int)sys_getpid();
	info.si_uid = (uint32_t)SYS0(__NR_getuid);
	info.si_value.sival_ptr = (void *)(uintptr_t)value;
	long pidfd = sys_pidfd_open(m->pid);
	struct proc_facts f;
	long err = pidfd < 0 ? pidfd : proc_facts(c, m->pid, &f) || f.ppid != m->ppid ? -3 /* ESRCH */
					: sys_pidfd_send_signal((int)pidfd, ckpt_config.signal, &info);
	if (pidfd >= 0)
		sys_close((int)pidfd);
	if (err < 0)
		mark_exited(t, s); /* before the request: it ends as it would have */
	return 0;
}

/* What /proc says of `pid`, or, once it is gone, the name the listing saw. */
static void known_facts(struct capture *c, int pid, struct proc_facts *f)
{
	if (proc_facts(c, pid, f) == 0)
		return;
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].pid == pid)
			__builtin_memcpy(f->comm, c->members[i].comm, sizeof f->comm);
}

/* Waits until no slot is in state `from`: each has moved on, or fails the
 * checkpoint naming the member that exited, failed, or never answered. */
static int wait_slots(struct capture *c, uint32_t from, uint64_t deadline_ns)
{
	struct tree_control *t = c->tree;
	uint64_t since = monotonic_ns();
	for (;;) {
		uint32_t answers = __atomic_load_n(&t->answers, __ATOMIC_ACQUIRE);
		int waiting = 0;
		for (uint32_t i = 0; i < t->nslots; i++) {
			struct tree_slot *s = tree_slot_at(t, i);
			uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
			struct proc_facts f = {.pid = s->pid};
			if (state == SLOT_FAILED) {
				known_facts(c, s->pid, &f);
				c->error.len = 0;
				name_process(&c->error, s->pid, f.comm);
				line_str(&c->error, ": ");
				line_str(&c->error, s->failure);
				return -1;
			}
			if (state != from)
				continue;
			if (from == SLOT_ASKED && process_gone(s->pid)) {
				mark_exited(t, s);
				continue;
			}
			if (process_gone(s->pid) || (deadline_ns && monotonic_ns() - since > deadline_ns)) {
				int exited = process_gone(s->pid);
				known_facts(c, s->pid, &f);
				c->error.len = 0;
				name_process(&c->error, s->pid, f.comm);
				if (exited) {
					line_str(&c->error, " exited during the checkpoint");
					return -1;
				}
				line_str(&c->error, " did not answer the checkpoint request in ");
				line_u64(&c->error, deadline_ns / 1000000000);
				line_str(&c->error, " s (it blocks the signal, or was stopped)");
				return -1;
			}
			waiting = 1;
		}
		if (!waiting)
			return 0;
		struct { long sec, nsec; } tick = {0, 20 * 1000 * 1000};
		sys_futex(&t->answers, FUTEX_WAIT, answers, &tick);
	}
}

/* Asks every live member listed and not asked yet; how many it asked,
 * counting one still listed live that exited (on its way out, not yet a
 * zombie: the tree is listed again until it is). */
static int ask_new(struct capture *c, uint64_t since)
{
	int asked = 0;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		const struct ckpt_member *m = &c->members[i];
		const struct tree_slot *s = m->kind == CKPT_MEMBER_LIVE ? slot_of(c->tree, m->pid) : 0;
		if (s && s->state == SLOT_EXITED) {
			if (monotonic_ns() - since > ANSWER_DEADLINE_NS)
				return capture_fail(c, "a child process did not finish exiting", 0);
			const struct { long sec, nsec; } pause = {0, 1000 * 1000};
			SYS2(__NR_nanosleep, &pause, 0);
			asked++;
		}
		if (m->kind != CKPT_MEMBER_LIVE || s)
			continue;
		if (ask(c, m, since))
			return -1;
		asked++;
	}
	return asked;
}

int tree_begin(struct capture *c, int background)
{
	if (tree_list(c))
		return -1;
	if (!c->nmembers)
		return 0;
	if (open_control(c))
		return -1;
	c->tree->background = (uint32_t)background;
	c->tree->periodic = (uint32_t)c->periodic;
	/* Until a listing finds no one new and no one exited: a member may
	 * have forked, or ended, before it stopped. Every member in the last
	 * listing has then answered. */
	uint64_t since = monotonic_ns();
	for (;;) {
		uint32_t exited = c->tree->exited;
		int asked = ask_new(c, since);
		if (asked < 0 || wait_slots(c, SLOT_ASKED, ANSWER_DEADLINE_NS))
			return -1;
		if (!asked && c->tree->exited == exited)
			break;
		if (tree_list(c))
			return -1;
	}
	struct stat st;
	uint64_t control_ino = sys_fstat(c->tree_fd, &st) == 0 ? st.st_ino : 0;
	sys_close(c->tree_fd); /* every member has mapped it; the root's image must not hold it */
	c->tree_fd = -1;
	struct tree_control *t = c->tree;
	t->live[0] = (int32_t)sys_getpid();
	t->nlive = 1;
	for (uint32_t i = 0; i < c->nmembers; i++)
		if (c->members[i].kind == CKPT_MEMBER_LIVE)
			t->live[t->nlive++] = c->members[i].pid;
	return tree_check_groups(c) || tree_check_shared_memory(c, control_ino) ? -1 : 0;
}

/* The controlling terminal's foreground group, when it is one of the tree's. */
static int32_t tree_tty_pgrp(const struct capture *c)
{
	for (int fd = 0; fd < 3; fd++) {
		int32_t pgrp = 0;
		if (sys_ioctl(fd, 0x540F /* TIOCGPGRP */, &pgrp) != 0 || pgrp <= 0)
			continue;
		if (pgrp == c->hdr->pgid)
			return pgrp;
		for (uint32_t i = 0; i < c->nmembers; i++)
			if (c->members[i].pgid == pgrp)
				return pgrp;
		return 0;
	}
	return 0;
}

int tree_capture_members(struct capture *c)
{
	if (!c->tree)
		return 0;
	struct tree_control *t = c->tree;
	/* The last root image must be committed (or its writer have failed and
	 * removed its member files) before members take their previous files
	 * as the images their incremental ones read from. */
	wait_for_previous_writer();
	__atomic_store_n(&t->command, TREE_CAPTURE, __ATOMIC_RELEASE);
	wake_shared(&t->command);
	if (wait_slots(c, SLOT_STOPPED, 0))
		return -1;
	struct ckpt_header *h = c->hdr;
	const char *name = ckpt_config.image_path;
	for (const char *p = name; *p; p++)
		if (*p == '/')
			name = p + 1;
	for (uint32_t i = 0; i < c->nmembers; i++) {
		struct ckpt_member *m = &c->members[i];
		struct tree_slot *s = slot_of(t, m->pid);
		if (m->kind != CKPT_MEMBER_LIVE || !s)
			continue;
		m->image_id = s->image_id, m->file_size = s->file_size, m->header_crc = s->header_crc;
		m->nthreads = s->nthreads;
		struct line file = {.len = 0};
		member_file_name(&file, name, t->tree_id, m->pid);
		m->file_str = capture_string(c, file.buf, file.len);
	}
	h->tree_id = t->tree_id;
	h->nmembers = c->nmembers;
	h->tty_pgrp = tree_tty_pgrp(c);
	return 0;
}

/* Stop mode: the root's exit comes last, so whoever waits for it finds
 * no process of the tree left. */
static void wait_members_gone(struct tree_control *t)
{
	for (uint32_t i = 0; i < t->nslots; i++) {
		long fd = sys_pidfd_open(tree_slot_at(t, i)->pid);
		if (fd < 0)
			continue; /* gone already */
		struct { int32_t fd; int16_t events, revents; } p = {(int32_t)fd, 1 /* POLLIN */, 0};
		while (sys_ppoll(&p, 1, 0) < 0)
			;
		sys_close((int)fd);
	}
}

/* After a failure during CAPTURE: members still writing finish (their
 * files linked, or not) before this tree id's files are removed. */
static void wait_writers_settled(struct tree_control *t)
{
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct tree_slot *s = tree_slot_at(t, i);
		uint32_t state;
		while ((state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE)) == SLOT_STOPPED && !process_gone(s->pid)) {
			uint32_t answers = __atomic_load_n(&t->answers, __ATOMIC_ACQUIRE);
			if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_STOPPED)
				break;
			struct { long sec, nsec; } tick = {0, 20 * 1000 * 1000};
			sys_futex(&t->answers, FUTEX_WAIT, answers, &tick);
		}
	}
}

void tree_end(struct capture *c, int ok, int stop)
{
	struct tree_control *t = c->tree;
	if (!t)
		return;
	if (c->tree_fd >= 0)
		sys_close(c->tree_fd);
	if (!ok && t->command == TREE_CAPTURE)
		wait_writers_settled(t);
	if (!ok)
		drop_member_files(t);
	uint32_t command = ok && stop ? TREE_EXIT : TREE_RESUME;
	__atomic_store_n(&t->command, command, __ATOMIC_RELEASE);
	wake_shared(&t->command);
	if (command == TREE_EXIT)
		wait_members_gone(t);
	sys_munmap(t, c->tree_len);
	c->tree = 0;
}
