/* libckpt's internals: the pieces of a checkpoint, shared between the files
 * that each capture one part of the process. */
#ifndef CKPT_LIB_H
#define CKPT_LIB_H

#include "../ckpt_format.h"
#include "../ckpt_protocol.h"
#include "../build_features.h"
#include "../str.h"
#include <signal.h>

/* Set once by the constructor (and by the stub after a restart); read by the signal handler. */
struct ckpt_config {
	char image_path[CKPT_PATH_MAX];
	char exe_path[CKPT_PATH_MAX]; /* the program's, read at launch: after a
				       * restart /proc/self/exe names the stub */
	int signal;
	int pid;                  /* the launched process's (CKPT_PID, then the restart's) */
	int keep_running;         /* --continue */
	uint32_t keep;            /* --keep, as the last periodic request said; 0: never said */
	int drop_unsupported_fds; /* --drop-unsupported-fds */
	int compress;             /* --compress (compressed_stream.c) */
	int launcher_blocked_signal; /* the launcher blocked it around exec */
	uint64_t inherited_fds[64]; /* bitmap of fds 0..4095 open at launch */
	uint64_t stderr_dev, stderr_ino; /* fd 2 as launched, so we never write elsewhere */
	int stderr_ours_at_capture; /* fd 2 was still that stderr when the last capture began */
	uint64_t sigs_pending_at_entry; /* so we only consume signals we caused */
	int daemon_root;          /* a process the exited launch left running, root of its own checkpoint (daemon_root.c) */
	int seccomp_base;         /* seccomp filters at launch (CKPT_SECCOMP), then at the last restart; -1 unknown */
};

extern struct ckpt_config ckpt_config; /* state.c, like the other two */

/* The signal that stops the other threads (see threads.c for the choice). */
#define CKPT_THREAD_SIGNAL 64
#define CKPT_STOP_SIGVAL 0x636b7073 /* "ckps": the stop signal's value, libckpt's own */

/* Shared between the coordinator and the threads it stops; futex words. */
struct thread_sync {
	int32_t busy;             /* a checkpoint is under way */
	int32_t arrived;          /* threads that captured themselves */
	int32_t release;          /* bumped to let them go */
	int32_t next_slot;        /* next free slot in `threads` */
	int32_t restarts;         /* bumped after each restart */
	struct ckpt_thread *threads;
	/* pending signals (pending_signals.c): each stopped thread appends its
	 * own queue, in one piece, under `signal_lock` */
	struct ckpt_signal *signals;
	uint32_t nsignals, max_signals;
	int32_t signal_lock;
	int32_t signals_failed;   /* why a thread could not take its queue, or 0 */
	int32_t shared_request;   /* 1: the leader is asked to take the process's queue; 2: done */
	uint32_t leader_first, leader_end; /* the leader's own records, held until then */
	int32_t leader_holds;
	int32_t registered_ring_tid; /* a thread with an io_uring registered by index (capture_unrestorable.c), or 0 */
};

extern struct thread_sync ckpt_sync;
/* Filled by the stub at a restart (arena, new pid, next image path), read
 * by the handler as it resumes; the image records its address. */
extern struct ckpt_restart_info ckpt_restart_info;
/* A capture in progress: the tables of the image being built, in a private
 * scratch mapping (never malloc: we may have interrupted malloc itself). */
struct capture {
	struct ckpt_header *hdr;
	struct ckpt_thread *threads;
	struct ckpt_region *regions;
	struct ckpt_extent *extents;
	struct ckpt_fd *fds;
	struct ckpt_lock *locks;
	uint32_t nlocks, max_locks;
	struct ckpt_epoll_watch *watches;
	uint32_t nwatches, max_watches;
	struct ckpt_inotify_watch *inotify;
	uint32_t ninotify, max_inotify;
	char *strings;
	struct ckpt_timer *timers;
	struct ckpt_signal *signals;
	uint32_t nsignals, max_signals;
	uint32_t nthreads, nregions, nextents, nfds, strings_size;
	uint32_t max_regions, max_extents, max_fds, strings_cap, max_threads;
	uint32_t ntimers, max_timers;
	int32_t *tids;            /* threads signalled to stop */
	char *pipe_data;          /* unread bytes of captured pipes, deleted files' and memfds' bytes */
	uint64_t pipe_data_size, pipe_data_cap;
	char *bounce;             /* copies of pages a forked writer cannot see as they are */
	uint64_t bounce_cap;
	uint64_t *extent_src;     /* per extent: where to write it from, if not its address */
	char *writer_area;        /* WRITER_AREA bytes: the writer's staging ring and its state */
	char *compress_area;      /* compressed_stream_area() bytes: --compress's buffers and helper stacks */
	char *text; uint64_t text_cap; /* a buffer for /proc files and pagemap */
	struct smaps_walk *smaps; /* the VmFlags, read beside the capture (smaps_walk.c) */
	void *scratch; uint64_t scratch_len; /* the whole scratch mapping, excluded from the image */
	int pipe_scratch[2];      /* for tee-ing pipe contents; excluded */
	uint32_t dumpable; int dumpable_lifted; /* the program's PR_GET_DUMPABLE; lifted to 1 until scratch_close */
	long mem_fd;              /* 1 + an fd on /proc/self/mem, or 0 (unreadable_memory.c) */
	struct line error;        /* why the capture failed, if it did */
	int periodic;             /* asked for by --interval's watcher: quiet when it works */
	int incremental;          /* pages unchanged since parent_id's copy may be PARENT extents */
	uint64_t parent_id;       /* the image_id tracking dates from (dirty_tracking.c) */
	struct page_region *early, *early_sum_runs, *stale; uint32_t *early_sums; uint32_t nearly, nearly_sum_runs, nstale; /* early_*.c */
	int early_taken; uint64_t early_parent;
	/* Process trees (tree.h): the root's member table and control area; a
	 * member's control area and its image's file name. */
	struct ckpt_member *members;
	uint32_t nmembers;
	struct tree_control *tree;
	uint64_t tree_len;
	int tree_fd;
	const char *member_path;
	/* A member's previous image, which an incremental one reads from
	 * (else the image path's: the root's and a single process's). */
	const char *parent_path;
	char *shared_area; int memory_live, scratch_handed; /* shared_writer.c */
};

/* The image writer's staging ring (image_writer.c): RING_SLOTS slots of
 * RING_SLOT bytes in 2 MiB-aligned huge pages, after the writer's state. */
#define RING_SLOT (2u << 20)
#define RING_SLOTS 4
#define WRITER_AREA ((64u << 10) + (2u << 20) + RING_SLOTS * RING_SLOT)

/* compressed_stream.c: --compress's writer (the data of a codec image). */
uint64_t compressed_stream_area(void);
long write_compressed_stream(struct capture *c, int fd, uint64_t *end);

/* Each returns 0, or -1 after describing the failure in c->error. */
int scratch_open(struct capture *c);
void scratch_close(struct capture *c);
uint32_t capture_string(struct capture *c, const char *s, size_t len);
int refuse_under_valgrind(struct capture *c); /* valgrind.c */
int capture_fail(struct capture *c, const char *what, long err);
int capture_fail_path(struct capture *c, const char *what, const char *path, long err);

void capture_thread(struct ckpt_thread *t, const void *ucontext);

/* threads.c */
int coordinator_begin(void);
void coordinator_release(void);
int stop_other_threads(struct capture *c, const void *ucontext);
struct ckpt_thread *own_slot(struct capture *c);
void wait_threads_out_of_stub(void);
int install_thread_stop_handler(void);
int capture_process(struct capture *c);
void capture_brk(struct capture *c); /* asked before smaps_walk_begin, which brk would wait out */
int capture_process_state(struct capture *c);
int refuse_unrestorable(struct capture *c);
/* capture_unrestorable.c: run by each thread as it captures itself. */
void note_registered_rings(void);
/* pending_signals.c: pending signals. signals_begin before the threads are
 * stopped, take_thread_signals in each stopped thread, capture_pending_signals in
 * the coordinator once all are: each queue is read and at once queued again. */
void signals_begin(struct capture *c);
void take_thread_signals(void);
int capture_pending_signals(struct capture *c);
void wait_released(int32_t release);
/* capture_timers.c: POSIX timers, after the threads are stopped. */
int capture_timers(struct capture *c);
/* capture_fds.c: every open descriptor, by kind (c/kinds/fd_kinds.h). */
int capture_fds(struct capture *c);
int audit_world(struct capture *c);   /* world_audit.c, from capture_fds */
void refresh_file_offsets(struct capture *c);
/* fd_unsupported.c: a descriptor no kind brings back: returns 0 when it is
 * dropped (with a warning), -1 when it fails the checkpoint (c->error). */
int drop_or_fail(struct capture *c, int fd, const char *target, const char *why);
int inherited_at_launch(int fd);
/* Whether fd is one the program had from its launch (a member: one of the
 * root's launch fds): what the launching shell gave is dropped with a
 * warning, not refused, and not made again. */
int from_launch(struct capture *c, int fd);
/* fd_pidfd.c: drop_or_fail for a pidfd, naming the process it points at. */
int refuse_pidfd(struct capture *c, int fd, const char *target);
/* The most bytes kept for one deleted file or memfd (c/kinds/fd_unlinked.c). */
#define CKPT_CONTENT_MAX (64ull << 20)
int stderr_is_regular_file(void);
int capture_regions(struct capture *c);
/* capture_vmflags.c: VmFlags of every region, after capture_regions;
 * refuses a shared writable mapping of a file not writable now. */
int capture_vmflags(struct capture *c);
/* unreadable_memory.c: pages without read permission, through /proc/self/mem. */
int check_unreadable(struct capture *c);
long read_unreadable(struct capture *c, void *to, uint64_t addr, uint64_t len);
void close_unreadable(struct capture *c);
/* dirty_tracking.c: incremental images' written pages (userfaultfd
 * write-protect): tracking_begin at a background capture's start,
 * unchanged_stretch per run of pages, untrack_unstable_regions after
 * capture_vmflags, tracking_protect once captured, before the copy. */
void tracking_begin(struct capture *c);
uint64_t unchanged_stretch(struct capture *c, uint64_t pagemap_entry, uint64_t addr, uint64_t end,
			   int private_file_page, int *unchanged);
void untrack_unstable_regions(struct capture *c);
void tracking_protect(struct capture *c);
void tracking_forget(void);
const char *tracking_unavailable_reason(void);
/* incremental.c: in the writer, PARENT extents pointed at the older images
 * that hold their bytes (or stored, when the parent is not the one). */
int resolve_incremental(struct capture *c); /* -1 only when memory is live (shared_writer.c) */
int parent_usable(const struct capture *c); /* its header: the one tracking dates from, room in the chain */
/* zero_pages.c: DATA pages of zeros become HOLEs, before the layout. */
void store_zero_pages_as_holes(struct capture *c);
/* Writes the image; `then_exit`: the caller exits right after a success,
 * so what the exit releases anyway is left to it. */
int image_write(struct capture *c, uint64_t *size, int then_exit);

/* v rounded up to a multiple of a, a power of two. */
static inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* image_file.c: the file image_write fills, created unnamed, then given
 * the image's name (commit) or dropped (abandon). */
struct image_target {
	char dir[CKPT_PATH_MAX];
	char tmp_name[300];
	const char *name;
	long dir_fd;
	long fd;
	int named_tmp; /* the O_TMPFILE fallback is in use */
	int member;    /* a tree member's image: linked under its own new name */
	uint32_t keep; /* names kept: --keep, or more while a kept image reads from older ones */
};
/* image_rotation.c: --keep's older images, moved aside before the commit's
 * rename (0, or -1 with c->error), and those beyond --keep dropped after it. */
int keep_older_images(struct capture *c, struct image_target *t);
void drop_surplus_images(const struct image_target *t);
/* The header of the image `name` in directory `dir`, if it is an image of
 * this version (0), else -1. */
int image_header_at(int dir, const char *name, struct ckpt_header *h);
/* After the commit: the tree ids of the root images kept (NAME, NAME.1 ...
 * as far as t->keep), each once, into ids (CKPT_KEEP_MAX of room). */
uint32_t kept_tree_ids(const struct image_target *t, uint64_t *ids);
int image_target_open(struct capture *c, struct image_target *t);
int image_target_commit(struct capture *c, struct image_target *t);
void image_target_abandon(struct image_target *t);

/* data_stream.c: every DATA extent, checksummed, through the staging ring;
 * the ring's AIO context outlives it until destroyed (or the exit). */
long write_data_stream(struct capture *c, int fd);
void destroy_stream_aio(const struct capture *c);

/* proc_dir.c: calls each(n, ctx) for every numbered entry of a /proc
 * directory (the walk's own fd left out of /proc/self/fd); stops at the
 * first nonzero return and returns it, or -errno if the walk failed. */
int for_each_numbered_entry(const char *path, int (*each)(int n, void *ctx), void *ctx);

/* sock_diag.c: the kernel's facts about the Unix socket with inode `ino`
 * (its reply lands in c->text): 0, or -errno. */
struct unix_facts {
	uint32_t state, type;  /* TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10; SOCK_* */
	uint32_t peer_ino;     /* 0: no peer, or one not yet accepted, or gone */
	uint32_t rqueue;       /* listening: connections not yet accepted; else bytes queued */
	uint32_t wqueue;       /* listening: the backlog */
	uint32_t vfs_ino, vfs_dev; /* bound to a path: the inode it was created as */
	uint32_t has_vfs, shutdown;
};
long unix_diag(struct capture *c, uint64_t ino, struct unix_facts *u);
/* socket_options.c: records the options a restart sets again; returns why
 * the socket cannot come back (an option it would lose), or 0. */
struct ckpt_fd;
const char *socket_options(int fd, struct ckpt_fd *r);

/* Reads a whole /proc file into c->text; returns its length or -errno. */
long read_proc_file(struct capture *c, const char *path);
/* sysv_ipc_audit.c, when the checkpoint holds a SysV segment (its restart
 * gets an IPC namespace of its own): refuses (-1, c->error) a semaphore
 * set, message queue or unmapped segment that one of `pids` last used, by
 * name; `mapped` says whether the checkpoint maps segment `id`. */
int sysv_refuse_lost_objects(struct capture *c, const int32_t *pids, uint32_t npids,
			     int (*mapped)(void *ctx, uint64_t id), void *ctx);
/* fdinfo.c: /proc/self/fdinfo/N into c->text (its length or -errno), and
 * the number after `key` in such a text, in `base` (0, or -1 if absent). */
long read_fdinfo(struct capture *c, int fd);
int fdinfo_number(const char *text, const char *key, unsigned base, uint64_t *v);
/* The number at s (lowercase hex for base 16), read up to end or the first
 * other character: where it ends, or 0 if there was no digit. */
const char *fdinfo_digits(const char *s, const char *end, unsigned base, uint64_t *v);
/* The number after `key` (blanks skipped) in [s, end): where it ends, or 0. */
const char *fdinfo_field(const char *s, const char *end, const char *key, unsigned base, uint64_t *v);
/* inotify_calls.c: the path watch `wd` of inotify `fd` was made by, and
 * the call's IN_DONT_FOLLOW/IN_ONLYDIR: 1, or 0 if not recorded, -1 if too
 * long to record; and the last wd `fd` handed out (0: none seen). */
int inotify_recorded(int fd, int wd, const char **path, uint32_t *add_flags);
int32_t inotify_last_wd(int fd);
#include "proc_stat.h"

/* Setjmp-like: returns 0 when saving, 1 when the stub resumes here after a
 * restart (jump_to_resume_point in c/stub/jumps.S). */
int ckpt_save_context(struct ckpt_resume_ctx *ctx);

/* launch_pid.c: where CKPT_PID's text is, and a restart's new pid. */
void launch_pid_text(char *text);
void launch_pid_moved(int pid);

/* exec.c: find glibc's execvpe (every process); keep the launcher's entries
 * of `names` and LD_PRELOAD for execs in place (the launched process). */
void exec_resolve(void);
void exec_remember(const char *const *names, unsigned n);
void exec_remember_entry(const char *entry); /* "CKPT_...=...", the caller's; replaces its name's */
int exec_in_tree(void); /* the root or a member: execs and spawns carry ckpt on */
/* exec_target.c: whether an LD_PRELOAD entry is either build of libckpt;
 * the libc (enum ckpt_libc) whose loader would run a program, EXEC_STATIC
 * when it has none, 0 when unknown: by path, by open descriptor, or
 * searched as execvp does. */
int ckpt_preload_entry(const char *entry, size_t len);
#define EXEC_SECURE 0x100u /* added to the libc: set-user-ID, set-group-ID or capabilities */
#define EXEC_STATIC 0x200u /* instead of a libc: an ELF program with no loader (statically linked) */
#define EXEC_LIBC(x) ((x) & 0xffu) /* the libc alone, without the two flags */
uint32_t exec_libc_of_path(const char *path);
uint32_t exec_libc_of_fd(int fd);
uint32_t exec_libc_of_search(const char *file);

/* libc_variant.c: the libc's own sigaction, behind our interposed one. */
int libc_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* The C library this copy of libckpt is built against (enum ckpt_libc),
 * and the LD_PRELOAD file names of this build and of the other one. */
#ifdef __GLIBC__
#define CKPT_LIBC_OWN CKPT_LIBC_GLIBC
#define CKPT_LIB_OWN_FILE CKPT_LIB_FILE
#define CKPT_LIB_OTHER_FILE CKPT_LIB_MUSL_FILE
#else
#define CKPT_LIBC_OWN CKPT_LIBC_MUSL
#define CKPT_LIB_OWN_FILE CKPT_LIB_MUSL_FILE
#define CKPT_LIB_OTHER_FILE CKPT_LIB_FILE
#endif
/* install_handler.c: `fn` for `sig`, every signal blocked while it runs but `but`. */
int install_handler(int sig, void (*fn)(int, siginfo_t *, void *), int but);
/* handler.c: the checkpoint handler, for the trigger signal. */
int install_checkpoint_handler(void);

/* sigaction.c: the program's use of the trigger and stop signals; sigmask.c: never_blocked. */
int trigger_request(const siginfo_t *info);
uint32_t requested_keep(const siginfo_t *info);
void run_program_handler(int sig, siginfo_t *info, void *uc);
uint64_t never_blocked(void);
/* trigger_warning.c: "the program <what> signal N, the checkpoint trigger;
 * <consequence>", once for a handler or SIG_IGN (`ignored`), once for a block. */
void trigger_taken_warning(int ignored);
void trigger_blocked_warning(void);
void trigger_warning_pid_moved(int from, int to);

/* exit_detached.c; memory_in_pages: the bytes of memory the image holds the contents of. */
uint64_t memory_in_pages(const struct capture *c);
__attribute__((noreturn)) void exit_leaving_teardown(int status, uint64_t memory_bytes);

/* background_writer.c */
int start_background_writer(struct capture *c, uint64_t started_ns);
long vfork_on_stack(void *stack_top, void (*fn)(void *), void *arg);
long clone_vm_on_stack(void *stack_top, void (*fn)(void *), void *arg); /* vfork_on_stack.S */
void wait_for_previous_writer(void);
void forget_previous_writer(void);
int previous_writer(void); /* its pid, or 0 */
int previous_writer_running(void);
int writer_watched(void); /* its page is still mapped: wait for it before the memory map is read */

/* image_id.c: a fresh image_id. */
uint64_t new_image_id(void);

/* tree.c: the root's side of a tree's checkpoint (docs/process-trees.md).
 * tree_begin with the root's threads stopped (`background`: the members'
 * images are incremental when they can be); tree_capture_members once the
 * root's descriptors are captured; tree_end after the root's capture (or
 * write, in the foreground). */
int tree_begin(struct capture *c, int background);
int tree_capture_members(struct capture *c);
void tree_end(struct capture *c, int ok, int stop);
/* tree_member.c: a member's side, on the root's request alone; returns 1
 * in the restored process. */
int tree_request(const siginfo_t *info);
int tree_member_checkpoint(const siginfo_t *info, const void *uc);

/* report.c: a checkpoint's lines on stderr. */
void announce_if_stderr_is_a_file(void);
void report_checkpoint(const struct capture *c, int ok, uint64_t size, uint64_t ns, int keep_running);
void report_background(const struct capture *c, int ok, uint64_t size, uint64_t pause_ns, uint64_t started_ns);
void report_writer_killed(const char *image, int writer, int periodic);
void report_capture_handed_over(const struct capture *c); /* to a background writer */

/* clock.c: `clock`'s time in nanoseconds (0: CLOCK_REALTIME, 1: CLOCK_MONOTONIC). */
uint64_t now_ns(int clock);
uint64_t monotonic_ns(void);

/* status.c: the line `ckpt checkpoint` reads through /proc/PID/environ. */
void status_init(void);
void status_attach(void);
void status_set(const char *state, const char *message);
void status_note(const char *text);

/* terminal_modes.c: the shell's terminal modes back at a stop; SIGWINCH after a restart. */
void terminal_note_launch(void);
void terminal_restore_launch(void);
void terminal_after_restart(void);

/* say.c: one line to the launch-time stderr, never harming the program. */
void say(const struct line *l);
void record_stderr_identity(uint64_t *dev, uint64_t *ino);
int stderr_is_ours(void);
void stderr_after_restart(void);

/* Swallows a SIGPIPE/SIGXFSZ our own write raised (see say.c). */
void consume_own_signal(int sig);

#endif
