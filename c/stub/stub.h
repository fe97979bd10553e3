/* The restore stub's internals. The stub is a freestanding static-pie
 * program (no libc): see main.c for the algorithm. */
#ifndef CKPT_STUB_H
#define CKPT_STUB_H

#include "../ckpt_format.h"
#include "../build_features.h"
#include "../str.h"
#include "../kinds/mem_kinds.h" /* guard pages (main.c, memory.c) */

#define MAX_LOADERS 8

/* Everything phase 2 needs, filled by phase 1 with addresses inside the
 * arena, then copied there with the stub's own data: phase 2 never looks at
 * memory outside the arena and the kernel's vDSO. */
struct stub_args {
	struct ckpt_header *hdr;
	struct ckpt_thread *threads;
	struct ckpt_region *regions;
	struct ckpt_extent *extents;
	struct ckpt_fd *fds;
	const char *strings;
	const struct ckpt_timer *timers;
	const struct ckpt_signal *signals;
	int image_fd;
	int link_fd[CKPT_LINKS_MAX];     /* the older images PARENT extents read from (chain.c) */
	int direct_fd[1 + CKPT_LINKS_MAX]; /* the image, then each link, opened O_DIRECT; 0: none (direct_read.c) */
	int err_fd;                      /* the restart's stderr, for our own messages */
	int mem_fd;                      /* /proc/self/mem while loading, or -1 (uncharged.c) */
	uint64_t arena_start, arena_len;
	uint64_t hop_start;              /* an arena window the vDSO hops through */
	uint64_t thread_stacks;          /* one small stack per cloned thread */
	uint64_t loader_stacks;          /* and one per loader thread */
	uint32_t next_extent;            /* loaders take extents in turn */
	int32_t loader_tid[MAX_LOADERS]; /* cleared by the kernel when each exits */
	uint64_t vdso_now[CKPT_NSPECIAL]; /* where the kernel put ours */
	char image[CKPT_PATH_MAX];        /* the one being restored, for messages */
	char next_image[CKPT_PATH_MAX];
	char note[1024];                 /* appended to every refusal */
	struct ckpt_termios shell_termios[3]; /* the restart's own modes of 0-2 */
	int check_only;                  /* --check/--verify: judge the image, restore nothing */
	int compress;                    /* `ckpt restart --compress`: for libckpt (restart info) */
	int ignore_affinity;             /* `ckpt restart --ignore-affinity` (affinity.c) */
	int namespace;                   /* enum restart_namespace: where this process runs */
	int daemon;                      /* CKPT_HEADER_DAEMON: restored detached, a session leader (pid_namespace.c) */
	int lazy, lazy_fd;               /* --lazy: on, and the userfaultfd for the page server */
	int32_t highest_id;              /* of every pid and tid the restart gives back: helpers go above */
	/* A process tree (tree*.c): */
	char context[256];               /* before a refusal's reason: the member image judged */
	uint32_t tree_index;             /* this process's: 0 the root (or no tree), i + 1 member i */
	int tree_note_fd;                /* a member's write end of the root's ready pipe */
	int keep_lo, keep_hi;            /* fds [lo, hi) the tree parked: kept open through phase 1 */
};

/* What a member tells the root through the ready pipe (tree_barrier.c):
 * it exists, it is through phase 1 or 2, or it refused (refuse.c: `len`
 * bytes of its refusal line follow, for the root to say). */
enum tree_note_kind { TREE_NOTE_CREATED = 1, TREE_NOTE_PHASE1, TREE_NOTE_PHASE2, TREE_NOTE_FAILED };
struct tree_note { uint32_t what, index, len, pad; };

/* pid_namespace.c: the program's process runs in a new pid namespace
 * (RESTART_NS_PID, as root), in a new user one too (RESTART_NS_USER), or
 * where the restart was started (RESTART_NS_NONE: a new pid). */
enum restart_namespace { RESTART_NS_NONE, RESTART_NS_PID, RESTART_NS_USER };

/* The kernel's struct clone_args (clone3, CLONE_ARGS_SIZE_VER2). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

/* From the namespace to the supervisor (pid_namespace.c, supervisor.c). */
enum ns_step { NS_READY, NS_STATUS, NS_FAIL_PROC, NS_FAIL_PARENT, NS_FAIL_PROGRAM,
	       NS_STOPPED, /* the program stopped (Ctrl-Z): value is the signal */
	       NS_DETACHED /* after NS_STATUS: the program ended, init stays for the rest of its tree */ };
struct ns_report { int32_t step, value; };

extern struct stub_args restart; /* state.c */

/* refuse.c: end the restore with "ckpt: cannot restart IMAGE: <why>
 * (<note>)", where why is <what>[ <path>][: <errno text>] or a composed
 * line. */
__attribute__((noreturn)) void die(const char *what, long err);
__attribute__((noreturn)) void die_path(const char *what, const char *path, long err);
__attribute__((noreturn)) void die_line(const struct line *why);

/* check_only.c: `--check` (header and tables) or `--verify` (and every
 * stored byte's checksum) judges the image as a restart would, exits 0 if
 * it is acceptable; nothing about this machine or its files is checked. */
__attribute__((noreturn)) void check_image_only(const char *image_path, int with_data);

/* watch.c: `--watch PID PERIOD_MS KEEP SIGNAL`, periodic requests to PID
 * until it ends; watch_target.c: what /proc says about PID. */
__attribute__((noreturn)) void watch_program(int argc, char **argv);
int watched_program(int pid);
int watched_trigger_signal(int pid);
int watched_ready(int pid, int sig);

/* pid_namespace.c: returns in the process that is to become the program,
 * in a new pid namespace at the image's pid, or in this one (with a new
 * pid) where that is unavailable or switched off. The supervisor
 * (supervisor.c) passes signals on to the namespace and ends as the
 * program did; exit_like ends this process as a wait4 status says. */
void enter_pid_namespace(const struct ckpt_header *h, const char *tables, char **envp);
__attribute__((noreturn)) void supervise(int child, int report_fd, int terminal_fd);
__attribute__((noreturn)) void exit_like(int status);
void close_all_but(int keep, int also); /* also: 0-2, or -1 */
int namespace_terminal_fd(void); /* the program's process: the terminal it took, or -1 */
/* helper_ids.c: note_ids raises restart.highest_id to every id image
 * `h` asks for (note_id: to one); clone_helper makes a helper process (fork's returns),
 * clone_helper_thread a helper thread (clone3_thread's), each with an id
 * above all of them. */
void note_id(int32_t id);
void note_ids(const struct ckpt_header *h, const char *tables);
long clone_helper(uint64_t exit_signal);
struct clone3_args;
long clone_helper_thread(struct clone3_args *a);
/* init_note.c: a tree's root, past barrier 2, tells init that every
 * process is restored, so that when the root ends, init stays until the
 * rest of the tree has ended, as it would have run on; and init's test of
 * a signal it took. */
void tell_init_restored(void);
int tree_restored_note(long sig, const char *info);

/* Process trees (docs/process-trees.md, "Restart"). tree_validate.c: the
 * root image's member table (check_member_table, --check too), then every
 * member image beside it, before anything (validate_tree). tree.c, in the
 * namespace: the tree made again; returns in every live process with its
 * own image loaded into hdr and tables. tree_shared.c: the fd a record
 * takes from what the root parked, or -1. tree_barrier.c: everyone
 * through phase 1 (then groups and terminal), then through phase 2. */
void check_member_table(const struct ckpt_header *h, const char *tables);
void validate_tree(const struct ckpt_header *h, const char *tables);
/* This process's member image file in a tree (0: the root, or no tree). */
const char *own_member_image(void);
void restore_tree(struct ckpt_header *hdr, char **tables);
int tree_parked_fd(const struct ckpt_fd *f);
/* tree_shared.c: for a record opening again a deleted file an earlier
 * process holds (reopens, share_pid), that holder's parked description. */
int tree_parked_file(const struct ckpt_fd *f);
/* tree_memory.c: the memfd a SHARED_ANON region maps when another process
 * of the tree maps its object too, or -1; closed once memory is loaded. */
int tree_memory_fd(const struct ckpt_region *r);
void close_tree_memory(void);
/* sysv_shm.c: the first SysV segment id any image of the restart holds, or
 * -1; without one a restart refuses them (one line, `why`); in the
 * namespace, before the tree is made, every segment made at its id; in
 * phase 2 once bytes are in: read-only views attached again SHM_RDONLY,
 * removed segments marked again once every view is attached. */
int64_t first_sysv_segment(const struct ckpt_header *h, const char *tables);
void refuse_sysv_without_namespace(const struct ckpt_header *h, const char *tables, const char *why);
/* namespace_refusals.c: before and instead of the namespaces. */
void check_namespace_pids(const struct ckpt_header *h, const char *tables);
void refuse_without_namespace(const struct ckpt_header *h, const char *tables, const char *why, const char *sysv_why);
void say_no_namespace(const struct ckpt_header *h, const char *tables, const char *why, long err);
void make_sysv_segments(const struct ckpt_header *h, const char *tables);
void finish_sysv_views(void);
void tree_phase1_done(const struct ckpt_header *hdr);
void tree_phase2_done(void);

/* Phase 1, before anything is torn down (validate.c, fds.c, arena.c). */
void load_and_validate(const char *image_path, struct ckpt_header *hdr, char **tables);
/* validate_extents.c: region r's extents, from e[expected_first] on; the
 * refusal of compressed blocks in a build without LZ4. */
void check_extents(const struct ckpt_header *h, const struct ckpt_region *r, const struct ckpt_extent *e,
		   uint32_t expected_first);
__attribute__((noreturn)) void refuse_without_lz4(void);
/* check_details.c: the fields only `ckpt info` shows, refused when corrupt all the same. */
void check_details(const struct ckpt_header *hdr, const char *tables);
void check_world(const struct ckpt_header *hdr, const char *tables);
/* machine.c: same XSAVE layout, same vDSO layout and code. */
void check_machine(const struct ckpt_header *hdr, uint64_t vdso_ehdr);
/* affinity.c: every thread's saved CPUs must be allowed here (phase 1);
 * each thread sets its own as it resumes. */
void check_affinity(const struct ckpt_header *hdr, const char *tables, char **envp);
void restore_affinity(const struct ckpt_thread *t);
/* scheduling.c: each thread's nice, policy, I/O priority and timer slack:
 * what needs a right tried in phase 1, set again by each thread. */
void check_scheduling(const struct ckpt_header *hdr, const char *tables);
void restore_scheduling(const struct ckpt_thread *t);
/* credentials.c: each thread's ids, capabilities and securebits, the
 * dumpable flag: tried in a child in phase 1, set by each thread last. */
void check_credentials(const struct ckpt_header *hdr, const char *tables);
/* mempolicy.c: each thread's and region's NUMA memory policy, tried in phase 1. */
void check_mempolicies(const struct ckpt_header *hdr, const char *tables);
void restore_mempolicy(const struct ckpt_thread *t);
void restore_region_mempolicy(const struct ckpt_region *r);
/* limits.c: soft and hard resource limits: hard ones above the restart's
 * raised in phase 1 (or refused), all set once the threads exist. */
void check_limits(const struct ckpt_header *hdr);
void restore_limits(const struct ckpt_header *hdr);
void restore_credentials(const struct ckpt_thread *t);
void check_vdso_layout(const struct ckpt_header *hdr);
void restore_process_settings(const struct ckpt_header *hdr);
/* process_state.c: login uid and groups as the image's, before any namespace. */
void check_identity(const struct ckpt_header *hdr, const char *tables);
int64_t proc_number(const char *path); /* the number in a small /proc file, or CKPT_UNKNOWN */
void check_locked_memory(const struct ckpt_header *hdr, const char *tables);
/* fds.c: every descriptor, each by its kind's module (c/kinds/). */
void restore_fds(const struct ckpt_fd *fds, uint32_t n, const char *strings, int image_fd, int32_t tree_root_pid);
/* fd_place.c, for the kinds' modules: an fd moved above every restored
 * number (dies with `what` on failure), put at its place, given its status
 * flags (both, or only those in `settable`). */
int to_high(long fd, const char *what, const char *path);
int to_high_or_close(long fd);
/* direct_read.c: the descriptor an extent's bytes are read from through
 * the page cache (extent_fd), or past it where it may (loader_fd). */
int extent_fd(const struct ckpt_extent *e);
void open_direct_reads(const struct ckpt_header *h);
void close_direct_reads(void);
int loader_fd(const struct ckpt_extent *e, uint64_t bits);
int retry_through_cache(const struct ckpt_extent *e, int fd, long err);
void place(int from, const struct ckpt_fd *f);
void set_status_flags(const struct ckpt_fd *f);
void set_some_status_flags(const struct ckpt_fd *f, unsigned settable);
/* Copies `len` stored bytes at image offset `at` to `fd` at 0, checking crc. */
void refill_from_image(int image_fd, uint64_t at, uint64_t len, uint32_t crc, int fd, int positional,
		       const char *what);
int move_image_fd_high(int fd, const struct ckpt_fd *fds, uint32_t n);
/* sockets.c, for the socket kinds: "fd N (a Unix socket at NAME): WHY: errno"
 * ends the restart; the SOL_SOCKET options of the record set on `s`. */
struct ckpt_fd;
__attribute__((noreturn)) void die_socket(const char *why, const struct ckpt_fd *f, const char *name, long err);
void set_socket_option(int s, const struct ckpt_fd *f, int level, int name, int32_t v, const char *what);
void set_socket_options(int s, const struct ckpt_fd *f);
/* c/kinds/fd_locks.c: the program's locks, once every fd is in place. */
void take_locks(const struct ckpt_lock *locks, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds,
		const char *strings);
/* c/kinds/fd_epoll.c: every epoll's watches, once every fd they name is back. */
void restore_epoll_watches(const struct ckpt_epoll_watch *w, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds);
/* c/kinds/fd_inotify.c: every inotify's watches under their wds, once every fd is back. */
void restore_inotify_watches(const struct ckpt_inotify_watch *w, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds,
			     const char *strings);
void build_arena(const char *tables, uint64_t vdso_ehdr);
/* timers.c: check and try POSIX timers' ids and clocks (phase 1), create
 * them again once every thread exists (phase 2). */
void check_timers(const struct ckpt_header *hdr, const char *tables);
void check_timer_records(const struct ckpt_header *hdr, const char *tables);
void restore_timers(void);
/* signals.c: check the pending signals (phase 1); in phase 2 each thread
 * queues its own again, thread 0 the process-wide ones too. */
void check_signals(const struct ckpt_header *hdr, const char *tables);
void check_signal_records(const struct ckpt_header *hdr, const char *tables);
void restore_signals(uint32_t thread_index);

/* Phase 2, in the arena (memory.c, process.c). */
__attribute__((noreturn)) void phase2(void);
void unmap_all_but_arena_and_vdso(void);
void move_vdso(void);
void map_regions(void);
void restore_advice(const struct ckpt_region *r);
int uncharged(const struct ckpt_region *r);
int extent_is_uncharged(const struct ckpt_extent *e);
void open_forced_writes(void);
void close_forced_writes(void);
/* inflate.c: a compressed extent (ckpt_extent_compressed) into `to`
 * (e->len bytes): its block's stored bytes read into the scratch, checked
 * against their checksum, then inflated; a part of an older image's block
 * also checked against its own once copied out. A failure names the extent
 * and ends the restore. A loader's scratch is mapped at first use, holds
 * the last older block it inflated, and is unmapped by release.
 * extents_inflate: whether an image has any compressed extent.
 * use_inflate_tls: the decompressor reads a stack canary at %fs:0x28, so a
 * thread that inflates points its fs there first (CLONE_SETTLS for loaders). */
struct inflate_scratch {
	char *buf;            /* 2 x CKPT_COMPRESS_BLOCK: stored bytes, then the block held */
	uint32_t held;        /* 1 + the link of the older image's block held, 0: none */
	uint64_t held_offset; /* where that block is in that image */
};
void inflate_extent(const struct ckpt_extent *e, void *to, struct inflate_scratch *s);
void release_inflate_scratch(struct inflate_scratch *s);
int extents_inflate(const struct ckpt_header *h, const struct ckpt_extent *e);
void load_extent_forced(const struct ckpt_extent *e, struct inflate_scratch *s);
uint64_t inflate_tls(void);
void use_inflate_tls(void);
/* image_read.c: `len` bytes of extent e from `done` on into `to` (from the
 * older image a PARENT one names); a short read ends the restore. */
void read_extent_bytes(const struct ckpt_extent *e, void *to, uint64_t len, uint64_t done);
/* Pages of [to, to + len), about to be written whole, made in one call
 * rather than a fault each (image_read.c). */
void populate_for_writing(void *to, uint64_t len);
/* The refusal when an extent's bytes cannot be read (err: a negative errno; image_read.c). */
__attribute__((noreturn)) void die_unreadable(const struct ckpt_extent *e, long err);
/* load_batches.c: loaders claim extents [first, end) in turn: a batch of
 * small plain ones (is_batch), read with few preadv calls into place and
 * each checked against its checksum by load_batch, or extents loaded one
 * by one: one alone, or a part of an older image's compressed block with
 * the rest of that block's stretch of memory. A loader's scratch is
 * mapped at its first batch, unmapped by release. */
struct batch_scratch {
	struct iovec *iov;
	char *hole; /* where the bytes between two extents of one read go */
};
int claim_extents(uint32_t *first, uint32_t *end);
int is_batch(uint32_t first);
void load_batch(uint32_t first, uint32_t end, struct batch_scratch *scratch);
void release_batch_scratch(struct batch_scratch *scratch);
/* `ckpt restart --lazy` (docs/lazy-restart.md). lazy_open.c, phase 1: the
 * userfaultfd, or one line and an eager restart. lazy_start.c, phase 2
 * once every region is mapped: private anonymous regions registered, the
 * page server started, their extents handed to it. lazy_server.c: the
 * server's loop; lazy_copy.c: what it copies where, and its one way out
 * when something is wrong (the program killed first, then one line). */
void lazy_open(const struct ckpt_header *hdr, char **envp);
void lazy_start(void);
__attribute__((noreturn)) void serve_pages(int uffd, int program_pidfd);
int region_loads_lazily(const struct ckpt_region *r);
void lazy_copy_init(int uffd, int program_pidfd);
int lazy_extent_at(uint64_t addr);  /* a lazy extent still to load holding addr, or -1 */
/* The next extent still to load, from `from` on, no longer than `longest`; nextents when none. */
uint32_t lazy_next_to_load(uint32_t from, uint64_t longest);
int lazy_continues_loaded(uint32_t k);
/* 0; -EAGAIN: the program's memory map is changing (read the events
 * first); -EINTR, `background` only: a fault waits (the read so far kept). */
long lazy_load_extent(uint32_t k, int background);
uint64_t lazy_original_address(uint64_t addr, int *released);
void lazy_record_event(const void *uffd_msg);
__attribute__((noreturn)) void lazy_fail(const char *what, const struct ckpt_extent *e, long err);

/* chain.c: the older images an incremental image reads from, found next
 * to it by content and opened (moved high when `place_high`), or the
 * restart refused naming the missing or altered one. `member`: a tree
 * member's image file (its older images are its earlier member files), or
 * 0. check_chain only judges them, before anything runs. */
void open_chain(const struct ckpt_header *h, int place_high, const char *member);
void check_chain(const struct ckpt_header *h, const char *member);
void restore_process_state(void);
__attribute__((noreturn)) void resume_threads(void);

#define THREAD_STUB_STACK (32 * 1024)
#define LOADER_STACK (64 * 1024)

/* jumps.S */
__attribute__((noreturn)) void switch_stack_and_call(void (*fn)(void), uint64_t stack_top);
__attribute__((noreturn)) void jump_to_resume_point(const struct ckpt_resume_ctx *ctx);
long clone_thread(unsigned long flags, uint64_t stack_top, void *ptid, void *ctid, uint64_t tls,
		  void (*fn)(void *), void *arg);
/* clone3 for a thread: `args->stack + args->stack_size` holds fn, then arg. */
long clone3_thread(struct clone3_args *args, size_t size);

static inline const char *string_at(const char *strings, uint32_t off)
{
	return strings + off; /* offsets were checked against the table */
}

#endif
