/*
 * The two barriers of a tree's restart (docs/process-trees.md, "Restart",
 * steps 5 and 6). Every member notes to the root, through one pipe, that it
 * exists, that its phase 1 is done, that its phase 2 is done (or that it
 * refused, with its line, which the root says: refuse.c); the root lets
 * them all on through a go pipe per
 * barrier, one byte each, once every live member is there. A member that
 * dies without a word is seen through its pidfd: the restart then fails
 * (the root exits, init with it, and the kernel ends the namespace).
 *
 * Between the barriers the groups are joined (setpgid only moves the
 * caller or its child, and a group must have its leader: all exist by
 * barrier 1) and the root gives the terminal to the image's foreground
 * group; each process ends the stand-ins it made for gone leaders
 * (tree_stand_ins.c), whose groups every member joined at its creation.
 * Barrier 2 comes before any thread of the program runs or any of
 * its timers starts: past it only the threads are cloned, so no program
 * runs while a peer may still fail. Everything here is static, not mapped, since
 * phase 2 runs in the arena with the rest of memory gone.
 */
#include <fcntl.h>
#include "tree.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

#define TIOCSPGRP 0x5410
#define POLLIN 1

static int ready[2] = {-1, -1}, go[2][2] = {{-1, -1}, {-1, -1}};
static int terminal = -1;
static uint32_t live;                           /* live members: the root waits for each */
static int32_t member_pid[CKPT_MAX_MEMBERS];    /* by tree_index - 1, for messages */
static int watch[CKPT_MAX_MEMBERS];              /* their pidfds, once created, else 0 */
static uint32_t reached[CKPT_MAX_MEMBERS];       /* the last note of each */
static struct { int fd; short events, revents; } polled[CKPT_MAX_MEMBERS + 1];

static int park_pipe(int p[2], int *next)
{
	int made[2];
	long err = sys_pipe2(made, O_CLOEXEC);
	if (err < 0)
		die("cannot create the pipes the tree's processes wait on", err);
	for (int end = 0; end < 2; end++) {
		long at = made[end] == *next ? made[end] : sys_fcntl(made[end], F_DUPFD_CLOEXEC, *next);
		if (at < 0)
			die("cannot create the pipes the tree's processes wait on", at);
		if (at != made[end])
			sys_close(made[end]);
		p[end] = (int)at;
		*next = (int)at + 1;
	}
	return *next;
}

int make_barrier_pipes(int base)
{
	int next = base;
	park_pipe(ready, &next);
	park_pipe(go[0], &next);
	park_pipe(go[1], &next);
	restart.tree_note_fd = ready[1];
	for (uint32_t i = 1; i < tree.n; i++) {
		member_pid[i - 1] = tree.proc[i].pid;
		live += tree.proc[i].member->kind == CKPT_MEMBER_LIVE;
	}
	return next;
}

void set_tree_terminal(int fd)
{
	terminal = fd;
}

void close_barrier_ends(int is_root)
{
	if (is_root) {
		sys_close(ready[1]), sys_close(go[0][0]), sys_close(go[1][0]);
		return;
	}
	sys_close(ready[0]), sys_close(go[0][1]), sys_close(go[1][1]);
	if (terminal >= 0)
		sys_close(terminal);
}

void note_to_root(uint32_t what)
{
	struct tree_note n = {what, restart.tree_index, 0, 0};
	sys_write(ready[1], &n, sizeof n);
}

static __attribute__((noreturn)) void member_ended(uint32_t index)
{
	struct line l = {.len = 0};
	line_str(&l, "member pid ");
	line_i64(&l, member_pid[index - 1]);
	line_str(&l, " ended during the restart");
	die_line(&l);
}

/* A member's refusal: its line, said here, the first of any (one line). */
static __attribute__((noreturn)) void say_refusal(uint32_t len)
{
	char text[1024];
	long got = sys_read(ready[0], text, len < sizeof text ? len : sizeof text); /* written whole with its note */
	if (got > 0)
		sys_write(restart.err_fd, text, (size_t)got);
	sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
}

/* Reads one note (written whole: the pipe never splits a write this small). */
static uint32_t read_note(uint32_t what)
{
	struct tree_note n;
	if (sys_read(ready[0], &n, sizeof n) != sizeof n || n.index < 1 || n.index > CKPT_MAX_MEMBERS)
		return 0;
	uint32_t i = n.index;
	if (n.what == TREE_NOTE_FAILED)
		say_refusal(n.len);
	if (n.what == TREE_NOTE_CREATED && !watch[i - 1]) {
		long fd = sys_pidfd_open(member_pid[i - 1]);
		if (fd < 0)
			member_ended(i);
		watch[i - 1] = (int)fd;
	}
	reached[i - 1] = n.what;
	return n.what == what;
}

/* The root: until every live member has noted `what`. */
static void wait_for_members(uint32_t what)
{
	uint32_t arrived = 0;
	for (uint32_t i = 0; i < CKPT_MAX_MEMBERS; i++)
		arrived += reached[i] == what && watch[i];
	while (arrived < live) {
		uint32_t n = 0;
		polled[n].fd = ready[0], polled[n++].events = POLLIN;
		for (uint32_t i = 0; i < CKPT_MAX_MEMBERS; i++)
			if (watch[i])
				polled[n].fd = watch[i], polled[n++].events = POLLIN;
		for (uint32_t k = 0; k < n; k++)
			polled[k].revents = 0;
		long r = sys_poll(polled, n, -1);
		if (r < 0 && r != -4 /* EINTR */)
			die("cannot wait for the tree's processes", r);
		if (polled[0].revents & POLLIN) { /* notes first: a refusal comes before its exit */
			arrived += read_note(what);
			continue;
		}
		for (uint32_t k = 1; k < n; k++)
			if (polled[k].revents)
				for (uint32_t i = 0; i < CKPT_MAX_MEMBERS; i++)
					if (watch[i] == polled[k].fd)
						member_ended(i + 1);
		if (polled[0].revents) /* no writer left, and no member seen ending */
			die("the tree's processes ended during the restart", 0);
	}
}

static void release(int which)
{
	char ones[256];
	__builtin_memset(ones, 'g', sizeof ones);
	for (uint32_t left = live; left;) {
		uint32_t k = left < sizeof ones ? left : sizeof ones;
		long w = sys_write(go[which][1], ones, k);
		if (w <= 0)
			die("cannot let the tree's processes go on", w);
		left -= (uint32_t)w;
	}
}

/* A member: until the root lets everyone go on (or is gone: then so is the restart). */
static void wait_for_root(int which)
{
	char g;
	long r;
	while ((r = sys_read(go[which][0], &g, 1)) == -4 /* EINTR */)
		;
	if (r != 1)
		sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
}

void tree_phase1_done(const struct ckpt_header *hdr)
{
	if (!tree.n)
		return;
	close_parked();
	if (restart.tree_index) {
		note_to_root(TREE_NOTE_PHASE1);
		wait_for_root(0);
		end_stand_ins(); /* every member of their groups joined them at creation */
		int32_t group = group_after_restart(hdr->pgid);
		long err = sys_getpgid(0) == group ? 0 : sys_setpgid(0, group);
		if (err < 0)
			die("cannot join its process group again", err);
		return;
	}
	wait_for_members(TREE_NOTE_PHASE1);
	int32_t foreground = hdr->tty_pgrp ? group_after_restart(hdr->tty_pgrp) : 0;
	if (terminal >= 0 && foreground && foreground != hdr->pid) { /* the root's group has it already */
		long err = sys_ioctl(terminal, TIOCSPGRP, &foreground);
		if (err < 0)
			die("cannot give the terminal to the tree's foreground process group", err);
	}
	if (terminal >= 0)
		sys_close(terminal);
	release(0);
	end_stand_ins();
}

void tree_phase2_done(void)
{
	if (!tree.n && restart.daemon)
		tell_init_restored(); /* init lets `ckpt restart` return (pid_namespace.c) */
	if (!tree.n)
		return;
	if (restart.tree_index) {
		note_to_root(TREE_NOTE_PHASE2);
		wait_for_root(1);
		sys_close(ready[1]), sys_close(go[0][0]), sys_close(go[1][0]);
		return;
	}
	wait_for_members(TREE_NOTE_PHASE2);
	release(1);
	tell_init_restored();
	sys_close(ready[0]), sys_close(go[0][1]), sys_close(go[1][1]);
	for (uint32_t i = 0; i < CKPT_MAX_MEMBERS; i++)
		if (watch[i])
			sys_close(watch[i]);
}
