/*
 * The restart of a process tree (docs/process-trees.md, "Restart"): what
 * tree_validate.c, tree_shared.c, tree_barrier.c and tree.c share. The
 * entry points main.c, check_only.c, fds.c and process.c call are in stub.h.
 */
#ifndef CKPT_STUB_TREE_H
#define CKPT_STUB_TREE_H

#include "stub.h"
#include "../kinds/fd_kinds.h"

/* A record's first holder in the tree (share_pid, share_fd) that no tree
 * could have: validate.c refuses it in any image, as the reader does. */
static inline int fd_share_impossible(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	return (f->share_pid || f->share_fd) && (f->share_pid <= 0 || f->share_pid == h->pid || f->share_fd < 0 ||
						 f->share_fd > CKPT_MAX_FD || !fd_shared_in_tree(f));
}

/* Every process of the tree as validated before anything ran: index 0 the
 * root, index i + 1 member i of the root image's table. A zombie has no
 * image: hdr and tables are 0. */
struct tree_process {
	const struct ckpt_header *hdr;
	const char *tables;
	const struct ckpt_member *member; /* 0 for the root */
	int32_t pid;
};

/* tree_validate.c: filled by validate_tree (the restart), read-only after. */
struct tree_run {
	uint32_t n;                /* processes, the root included; 0: no tree */
	struct tree_process *proc; /* n of them */
	const char *root_strings;  /* the root image's string table (member file names) */
};
extern struct tree_run tree;

/* The file of member `m`: the root image's directory + its file name. */
void member_image_path(const struct ckpt_member *m, const char *root_strings, char *out, uint64_t cap);
/* Loads member `m`'s image through the same checks as any image and holds
 * it to the member table (id, size, checksum, tree, pid, parent, group,
 * session), or refuses naming it. Leaves restart.image_fd on it. */
void load_member_image(const struct ckpt_header *root, const char *root_tables, const struct ckpt_member *m,
		       struct ckpt_header *hdr, char **tables);
/* "member image NAME of pid N: " before every refusal while `m` is judged. */
void judge_member(const struct ckpt_member *m, const char *root_strings);
/* The process group `pgid` of the image is after the restart: the root's
 * own group (it leads one, as the launch made it) for the root's group. */
int32_t group_after_restart(int32_t pgid);
/* tree_shared.c, in the root before any member exists: room for what is
 * parked (tree_parking_begin, first); every description more than one
 * process holds and every pipe between processes, parked from `next` on;
 * returns the first number past them. */
void tree_parking_begin(void);
int park_shared(int next);
void close_parked(void);
/* Moves `fd` to the next parked number (*next, advanced past it). */
int park_fd(int fd, int *next);
/* Parks `fd` for every record of socket or pipe `id` of `kind`; whether one is. */
void tree_park_by_id(uint64_t id, uint32_t kind, int fd, int *next);
int tree_parked_by_id(uint64_t id, uint32_t kind);
/* Process p's records (n of them), and its image opened for its stored
 * bytes (done_with_image closes it unless it is the root's). */
const struct ckpt_fd *tree_fds_of(uint32_t proc, uint32_t *n);
int tree_image_of(uint32_t p);
void tree_done_with_image(uint32_t p, int fd);
/* A Unix socket pair's end; a Unix connection end whose peer is gone. */
int tree_is_pair(const struct ckpt_fd *f);
int tree_is_closed_connection(const struct ckpt_fd *f);
/* tree_sockets.c, in the root first of all (before any listener is back):
 * socket pairs between processes and connection ends with a name, parked. */
void park_socket_pairs(int *next);
/* tree_memory.c, in the root before any member exists: one memfd per
 * object more than one region maps shared (in any processes), parked from `next` on;
 * returns the first number past them. */
int park_shared_memory(int next);

/* A member whose parent exited: init took it (the root's own children
 * when the root was a namespace's init). */
static inline int member_orphaned(const struct ckpt_header *root, const struct ckpt_member *m)
{
	return m->ppid == 1 && root->pid != 1;
}
/* tree_stand_ins.c: stand-ins for gone leaders and the members whose
 * parent exited. make_held and make_orphans, in the process at `holder`
 * (the root, a member, a session's stand-in), make what it holds; each
 * returns 0 there, and in a member it made, that member's index. */
uint32_t make_held(int32_t holder);
uint32_t make_orphans(int32_t holder);
/* Whether group `pgid` of a member in session `sid` is made by a stand-in
 * (its leader is gone): the member joins it as soon as it exists. */
int group_stands_in(int32_t pgid, int32_t sid);
/* After barrier 1: this process's stand-ins end, and are reaped. */
void end_stand_ins(void);
__attribute__((noreturn)) void cannot_create(const struct ckpt_member *m, long err);

/* tree_barrier.c (the notes are in stub.h, for refuse.c). */
/* The pipes, made by the root with the parked ones; returns the next free
 * number. close_barrier_ends: what a process no longer needs once its own
 * children exist (the root keeps the ready pipe's read end and both go
 * pipes' write ends; a member the other ends). */
int make_barrier_pipes(int base);
void close_barrier_ends(int is_root);
void note_to_root(uint32_t what);
/* The root's side: the terminal (a parked dup of it, or -1) to give to the
 * image's foreground group at barrier 1. */
void set_tree_terminal(int fd);

#endif
