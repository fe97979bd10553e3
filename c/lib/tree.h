/* Process trees in libckpt (docs/process-trees.md): the root's side
 * (tree.c, tree_members.c, tree_facts.c, tree_exits.c, tree_checks.c), a
 * member's (tree_member.c) and
 * the descriptors between them (tree_fds.c). */
#ifndef CKPT_TREE_H
#define CKPT_TREE_H

#include "ckpt_lib.h"
#include "tree_control.h"

/* What /proc/PID/stat says of a process. */
struct proc_facts {
	int32_t pid, ppid, pgid, sid;
	int32_t exit_code; /* a zombie's wait status */
	char state;
	char comm[16];
};

/* tree_facts.c */
int proc_facts(struct capture *c, int pid, struct proc_facts *f);
void name_process(struct line *l, int pid, const char *comm);
int process_gone(int pid);
/* tree_members.c */
/* Every process below the root into c->members, in tree order; refuses
 * (-1, c->error) a member that cannot be checkpointed. */
int tree_list(struct capture *c);
/* A member listed between a vfork and its exec, or between an exec and
 * its new program's libckpt: waits until it no longer shares its parent
 * PPID's memory and libckpt is in its maps (0; also once it is gone: the
 * request notices), or refuses it (-1) when its trigger is no longer
 * blocked, or it is still waited for `span_ns` after `since_ns`. */
int tree_await_libckpt(struct capture *c, int pid, int ppid, uint64_t since_ns, uint64_t span_ns);
/* tree_exits.c: a process whose first thread is a zombie, once every
 * thread of it has ended (f re-read): 0; 1 once it is gone (reaped); -1
 * (c->error) when its other threads run on. */
int tree_settle_exit(struct capture *c, struct proc_facts *f);

/* tree_checks.c, on the final listing with every member stopped: groups
 * and sessions the restart could not make, processes outside the tree in
 * its groups, and memory shared between members. */
int tree_check_groups(struct capture *c);
int tree_check_shared_memory(struct capture *c, uint64_t control_ino);

/* tree_fds.c, during a member's or the root's capture_fds. */
/* Whether a member's fd is one of the root's INHERIT fds 0-2: then the
 * record is INHERIT with share_pid the root. */
int tree_inherited_fd(struct capture *c, int fd, struct ckpt_fd *r);
/* Whether a member other than this process holds the other end of the
 * pipe `r` is an end of. */
int tree_pipe_peer_in_tree(struct capture *c, const struct ckpt_fd *r);
/* Whether a member's fd is one the root had open at launch (the same
 * description): dropped with a warning like the root's, not refused. */
int tree_launch_fd(struct capture *c, int fd);
/* Another live member that holds socket inode `ino`: its pid, or 0. */
int tree_holds_socket(struct capture *c, uint64_t ino);
/* For a connected TCP socket: another live member holding the
 * connection's other end (found in /proc/net/tcp{,6}): its pid, or 0. */
int tree_tcp_peer(struct capture *c, int fd);
/* share_pid/share_fd for each fd an earlier member holds too; refuses a
 * kind that cannot be shared between members yet. */
int tree_share_fds(struct capture *c);

/* tree_files.c: member image names, "<image>.<tree_id %016x>.<pid>". */
void member_file_name(struct line *l, const char *image_name, uint64_t tree_id, int pid);
/* After a commit: every member file beside the image whose tree id is none
 * of `kept` (the kept root images', image_rotation.c) and that no member
 * file of a kept tree reads from is removed. */
void drop_unkept_member_files(int dir_fd, const char *image_name, const uint64_t *kept, uint32_t nkept);
/* After a background writer failed to write the root image: the member
 * files its member table names. */
void drop_captured_member_files(const struct capture *c);
/* After a failure: this tree id's files, of the slots that wrote one. */
void drop_member_files(struct tree_control *t);

/* tree_kin.c: when `pid` started (0: gone or unreadable); whether `pid`,
 * not below `root`, which started at `root_started`, is of its tree all
 * the same (its parent exited: it started after the root, and its
 * environment block names the root); whether this process or an ancestor
 * is the root or such a process. */
uint64_t process_started(int pid);
/* The CKPT_PID in pid's environment block, 0 if none or unreadable. */
int environ_root(int pid);

/* daemon_root.c: a trigger reached a process whose launched program has
 * exited (a daemon's fork: launch_root_exited): it becomes the root of
 * its own checkpoint.
 * daemon_refusal fails the capture (-1, c->error) when it cannot be one. */
int launch_root_exited(void);
void daemon_adopt(void);
int daemon_refusal(struct capture *c);
int of_this_tree(int pid, int root, uint64_t root_started);
int descends_from_tree(int root);

/* tree_kids.c: the children of a process. list_kids: of `parent`, by
 * ascending pid, into k (0, or -1 after capture_fail; 0 with none if it
 * exited). read_children_files: of k->parent from its threads' children
 * files, in no order: 0, the listing's -errno, or 1 when there are no such
 * files (no CONFIG_PROC_CHILDREN, or the process is gone). add_kid: one
 * more, unless it is libckpt's own writer; overflow past CKPT_MAX_MEMBERS. */
struct kids {
	struct capture *c;
	int parent;
	int32_t pids[CKPT_MAX_MEMBERS];
	uint32_t n;
	int overflow;
};
int list_kids(struct capture *c, int parent, struct kids *k);
int read_children_files(struct kids *k);
void add_kid(struct kids *k, int pid);

#endif
