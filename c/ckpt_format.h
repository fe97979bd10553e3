/*
 * ckpt image format, version 6: the single contract between the preloaded
 * library that writes an image, the restore stub that reads it, and the
 * TypeScript reader (src/image/format.ts mirrors every struct below field by field;
 * change both in the same commit and bump CKPT_VERSION; ckpt_protocol.h is the other).
 *
 * Layout of an image file (all integers little-endian, all offsets in bytes
 * from the start of the file):
 *
 *   [0, CKPT_HEADER_SIZE)        struct ckpt_header, zero-padded
 *   [tables_offset, +tables_size) the tables, each 8-byte aligned, then zeros
 *                                up to data_offset (= tables_offset + tables_size):
 *        threads  nthreads  x struct ckpt_thread
 *        regions  nregions  x struct ckpt_region   (sorted by start)
 *        extents  nextents  x struct ckpt_extent   (grouped by region, sorted)
 *        fds      nfds      x struct ckpt_fd       (sorted by fd)
 *        strings  strings_size bytes of NUL-terminated strings; offset 0 is ""
 *        timers   process.ntimers x struct ckpt_timer (sorted by id)
 *        locks    nlocks    x struct ckpt_lock     (by fd)
 *        signals  process.nsignals x struct ckpt_signal (pending, in queue order)
 *        watches  nwatches  x struct ckpt_epoll_watch (by epoll, then fd)
 *        inotify  ninotify  x struct ckpt_inotify_watch (by fd, then wd)
 *        members  nmembers  x struct ckpt_member (a tree's root image only;
 *                                parents before children)
 *   [data_offset, file_size)     the bytes of every DATA extent, back to back
 *                                (so each starts on a page), then the unread
 *                                contents of pipes, deleted files and memfds,
 *                                back to back; a compressed image (codec set)
 *                                stores each DATA extent in stored_len bytes,
 *                                packed with no page alignment, and its other
 *                                contents from the page after the last one
 *
 * Integrity: every byte of the file is covered by exactly one checksum.
 * header_crc covers the whole header page with header_crc itself zero;
 * tables_crc covers [tables_offset, data_offset); every DATA extent,
 * pipe buffer and stored file carries the CRC32C of its bytes. A reader checks the
 * header, then the tables, then data as it loads it: nothing from an
 * unchecked byte is used, and no byte can change unnoticed.
 */
#ifndef CKPT_FORMAT_H
#define CKPT_FORMAT_H

#include <stdint.h>

#define CKPT_MAGIC "CKPTIMG\0"
#define CKPT_VERSION 15 /* 7: SYSV_SHM regions; 8: reopens (a deleted file or memfd opened twice), each thread's CPU affinity;
                          9: PARENT extents inside older images' compressed blocks;
                          10: each thread's parent-death signal and scheduling, the personality, MDWE;
                          11: each thread's credentials, name and memory policy, each region's memory policy, the dumpable flag,
                          the coredump filter;
                          12: a file in a temporary directory with its bytes kept (CKPT_FILE_KEPT);
                          13: each thread's time-stamp counter mode and machine-check kill policy;
                          14: an O_ASYNC descriptor's owner and signal;
                          15: a Unix socket pair with a name at one end (accepted from a listener) */
#define CKPT_ARCH_X86_64 62 /* EM_X86_64 */
#define CKPT_PAGE_SIZE 4096
#define CKPT_HEADER_SIZE 4096
#define CKPT_MAX_SIGNALS 64
#define CKPT_MAX_RLIMITS 16
#define CKPT_MAX_AUXV 64 /* u64 words; the kernel's saved_auxv holds 52 */
#define CKPT_PATH_MAX 4096
#define CKPT_MAX_FD 65535          /* the highest fd number an image may hold */
#define CKPT_MAX_THREADS 65536
#define CKPT_LOWEST_ADDRESS 0x1000 /* no region below: the kernel's lowest page */

/* Addresses, lengths and file offsets of memory all are; so is the data
 * area. One definition for the stub's checks and the kinds' (c/kinds/). */
static inline int ckpt_page_aligned(uint64_t v) { return (v & (CKPT_PAGE_SIZE - 1)) == 0; }

/* The address of the restart-info block libckpt exports; the stub fills it
 * in after memory is back so the resumed handler learns what happened. */
#define CKPT_RESTART_INFO_MAGIC 0x4f464e4954525352ull /* "RSRTINFO" */

/* Layout of [vvar] [vvar_vclock] [vdso]: the kernel's special mappings. They
 * are never stored; only their place is, so the stub can move its own copies
 * there (glibc cached pointers into the vDSO at startup). */
enum ckpt_special { CKPT_SPECIAL_VVAR, CKPT_SPECIAL_VVAR_VCLOCK, CKPT_SPECIAL_VDSO, CKPT_NSPECIAL };
/* Their names in /proc/PID/maps, in enum order. */
static const char ckpt_special_names[CKPT_NSPECIAL][16] = {"[vvar]", "[vvar_vclock]", "[vdso]"};

/* Header flags. DAEMON: the root is a setsid()'d process the launched program left running
 * (docs/process-trees.md, "Daemons"): it comes back without a terminal, `ckpt restart` returning. */
#define CKPT_HEADER_DAEMON 1u
#define CKPT_HEADER_FLAGS_KNOWN CKPT_HEADER_DAEMON
enum ckpt_region_kind {
	CKPT_REGION_ANON = 1,         /* private anonymous memory, incl. [heap] */
	CKPT_REGION_STACK = 2,        /* the main [stack]: remapped MAP_GROWSDOWN */
	CKPT_REGION_FILE_PRIVATE = 3, /* private file mapping: file + COW'd pages */
	CKPT_REGION_FILE_SHARED = 4,  /* shared file mapping: mapped from its file */
	CKPT_REGION_SHARED_ANON = 5,  /* shared anonymous memory (sharing is lost) */
	CKPT_REGION_SYSV_SHM = 6,     /* version 7: a whole view (shmat) of a SysV shared
	                               * memory segment: ino its shmid, file_size its size,
	                               * dev its permission bits; made again at its id */
};
#define CKPT_REGION_KIND_MAX CKPT_REGION_SYSV_SHM /* the highest: every range check uses it */

enum ckpt_region_flags {
	CKPT_REGION_HEAP = 1 << 0,    /* was [heap]: the program break lives here */
	CKPT_REGION_UNREAD = 1 << 1,  /* no read permission (data read through /proc/self/mem) */
	CKPT_REGION_THREAD_STACK = 1 << 2, /* holds a thread's stack pointer */
	CKPT_REGION_SHM_REMOVED = 1 << 3, /* SYSV_SHM: marked IPC_RMID, gone at the last detach */
};

enum ckpt_extent_kind {
	CKPT_EXTENT_DATA = 1, /* bytes stored in the image at data_offset */
	CKPT_EXTENT_HOLE = 2, /* never touched: fresh zero pages */
	CKPT_EXTENT_FILE = 3, /* the region's file at the matching offset */
	CKPT_EXTENT_GUARD = 4, /* guard pages (MADV_GUARD_INSTALL): never read,
	                        * installed again at restart */
	CKPT_EXTENT_PARENT = 5, /* version 5, incremental images: unchanged since the
	                         * image links[link] names, whose bytes at data_offset
	                         * (crc: of those bytes) are loaded in its place */
};
#define CKPT_EXTENT_KIND_MAX CKPT_EXTENT_PARENT

/* Whether an extent's bytes are stored, in this image or an older one. */
static inline int ckpt_extent_stored(uint32_t kind) { return kind == CKPT_EXTENT_DATA || kind == CKPT_EXTENT_PARENT; }

#include "ckpt_format_chain.h" /* incremental images: the chain of older images, tracking */

/* A region's VmFlags (/proc/PID/smaps) that the program set itself with
 * madvise, mlock or mseal and that change how the memory behaves: the stub
 * sets each again (c/stub/advice.c), and `ckpt info` shows them. The last
 * two say how the kernel charges it to the commit limit, which the stub
 * keeps as it was (c/stub/memory.c). */
enum ckpt_vm_flags {
	CKPT_VM_MAYWRITE = 1 << 0,    /* mw, shared file regions (reopened O_RDWR) and SysV
	                               * views (without it: attached SHM_RDONLY) only */
	CKPT_VM_LOCKED = 1 << 1,      /* lo: mlock */
	CKPT_VM_LOCKONFAULT = 1 << 2, /* lf: mlock2(MLOCK_ONFAULT) */
	CKPT_VM_DONTFORK = 1 << 3,    /* dc: MADV_DONTFORK */
	CKPT_VM_WIPEONFORK = 1 << 4,  /* wf: MADV_WIPEONFORK */
	CKPT_VM_DONTDUMP = 1 << 5,    /* dd: MADV_DONTDUMP */
	CKPT_VM_HUGEPAGE = 1 << 6,    /* hg: MADV_HUGEPAGE */
	CKPT_VM_NOHUGEPAGE = 1 << 7,  /* nh: MADV_NOHUGEPAGE */
	CKPT_VM_MERGEABLE = 1 << 8,   /* mg: MADV_MERGEABLE (KSM) */
	CKPT_VM_SEQUENTIAL = 1 << 9,  /* sr: MADV_SEQUENTIAL */
	CKPT_VM_RANDOM = 1 << 10,     /* rr: MADV_RANDOM */
	CKPT_VM_SEALED = 1 << 11,     /* sl: mseal */
	CKPT_VM_ACCOUNT = 1 << 12,    /* ac: charged (private, writable once) */
	CKPT_VM_NORESERVE = 1 << 13,  /* nr: MAP_NORESERVE */
};

/* prctl(PR_SET_MM_MAP) fields, as read from /proc/self/stat and brk(0). */
struct ckpt_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
};

/* The kernel's struct sigaction for rt_sigaction (not glibc's). */
struct ckpt_sigaction {
	uint64_t handler, flags, restorer, mask;
};

struct ckpt_timeval { int64_t sec, usec; };
struct ckpt_itimer { struct ckpt_timeval interval, value; };
struct ckpt_rlimit { uint64_t cur, max; };

/* The kernel's struct termios (TCGETS), for fds 0-2 that were terminals
 * and for CKPT_FD_TTY descriptors. */
struct ckpt_termios {
	uint32_t iflag, oflag, cflag, lflag;
	uint8_t line, cc[19];
	uint8_t valid, pad[3];
};

/* A value the kernel would not tell (MEMBARRIER_CMD_GET_REGISTRATIONS is
 * Linux 6.3; no login uid without audit support). */
#define CKPT_UNKNOWN 0xffffffffu

/* Process-wide settings the kernel keeps outside memory. The first six are
 * restored (or the restart refused); loginuid and groups cannot be set
 * without privileges, so the restart refuses if they differ; the cgroup is
 * recorded for `ckpt info` only: the restarted program is in the restart's. */
struct ckpt_process_state {
	uint32_t umask;
	uint32_t thp_disable;        /* PR_GET_THP_DISABLE: bit 0 set, bit 1 except-advised */
	uint32_t no_new_privs;
	uint32_t child_subreaper;
	int32_t oom_score_adj;
	uint32_t membarrier;         /* MEMBARRIER_CMD_REGISTER_* bits done, or CKPT_UNKNOWN */
	uint32_t loginuid;           /* /proc/self/loginuid; CKPT_UNKNOWN when unset */
	uint32_t ngroups;
	uint32_t groups_str;         /* supplementary groups, "4,24,27" in kernel order */
	uint32_t cgroup_str;         /* /proc/self/cgroup, verbatim */
	/* timers: the POSIX timer table (struct ckpt_timer), within the tables */
	uint32_t ntimers;
	uint32_t timers_off;
	/* signals: the pending signal table (struct ckpt_signal), within the tables */
	uint32_t nsignals;
	uint32_t signals_off;
};

struct ckpt_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;        /* sizeof(struct ckpt_header) */
	uint32_t arch;
	uint32_t page_size;
	uint64_t file_size;
	uint64_t created_ns;         /* CLOCK_REALTIME when capture began */
	uint64_t capture_ns;         /* how long capture and writing took */
	int32_t pid;
	uint32_t nthreads, nregions, nextents, nfds, strings_size;
	uint64_t tables_offset, tables_size;
	uint64_t data_offset;
	uint64_t threads_off, regions_off, extents_off, fds_off, strings_off; /* within tables */
	uint64_t locks_off;          /* within tables, after the strings */
	uint32_t nlocks;
	uint32_t personality;        /* version 10: personality(2), was padding (c/stub/process_state.c) */
	uint32_t tables_crc;
	uint32_t flags;              /* CKPT_HEADER_* below; any other bit is refused */

	/* identity: where and on what it was taken */
	char hostname[72];
	char kernel_release[72];
	uint64_t xcr0;               /* XSAVE feature mask: register state layout */
	uint32_t xsave_size;         /* CPUID(0xd,0).ebx */
	uint32_t exit_status_on_stop; /* CKPT_EXIT_CHECKPOINTED (ckpt_protocol.h) */

	/* process-wide state; strings are offsets into the string table */
	uint32_t exe_str, cwd_str, argv_str, argv_len; /* argv: NUL-separated */
	char comm[16];
	struct ckpt_mm mm;
	uint64_t auxv[CKPT_MAX_AUXV];
	uint32_t auxv_words;
	uint32_t trigger_signal;
	uint64_t special_start[CKPT_NSPECIAL]; /* 0 when absent */
	uint64_t special_end[CKPT_NSPECIAL];
	uint32_t vdso_crc;
	uint32_t mdwe;               /* version 10: PR_GET_MDWE (memory-deny-write-execute), was padding */
	struct ckpt_sigaction sigactions[CKPT_MAX_SIGNALS]; /* [n-1] is signal n */
	struct ckpt_itimer itimers[3];                      /* REAL, VIRTUAL, PROF */
	struct ckpt_rlimit rlimits[CKPT_MAX_RLIMITS];
	struct ckpt_termios termios[3];
	struct ckpt_process_state process;
	uint64_t restart_info_addr;  /* libckpt's struct ckpt_restart_info */
	uint32_t nwatches;           /* version 3: epoll watches (struct ckpt_epoll_watch), */
	uint32_t watches_off;        /* within tables, after the strings */
	uint32_t libc;               /* version 4: enum ckpt_libc, the C library libckpt ran under */
	uint32_t ninotify;           /* version 4: inotify watches (struct ckpt_inotify_watch), */
	uint32_t inotify_off;        /* within tables, after the epoll watches */
	/* version 5, compression (--compress): how DATA extents are stored */
	uint32_t codec;              /* enum ckpt_codec */
	uint32_t dumpable;           /* version 11: PR_GET_DUMPABLE (0, 1, 2), was padding (c/stub/credentials.c) */
	/* version 5, pid namespace restart (c/stub/pid_namespace.c): the
	 * parent's pid as the program saw it, for a stand-in at that pid. */
	int32_t ppid;
	uint32_t coredump_filter;    /* version 11: /proc/self/coredump_filter, was padding */
	/* version 5, incremental images: this image's id, how its pages were
	 * chosen, and the images its PARENT extents read from (links[0] the
	 * parent), CKPT_CHAIN_MAX above. */
	uint32_t tracking;           /* enum ckpt_tracking */
	uint64_t image_id;
	struct ckpt_link links[CKPT_LINKS_MAX];
	uint32_t nlinks;
	/* version 6, process trees (ckpt_format_tree.h): this process's group
	 * and session, and the tree it belongs to. tree_id is the root image's
	 * image_id in the root image and in every member image (0: a single
	 * process, no tree); tree_root_pid the root's pid (== pid in the root). */
	int32_t pgid, sid;
	int32_t tree_root_pid;
	int32_t tty_pgrp;            /* root image: the controlling terminal's foreground
	                              * group at checkpoint when it is a group of the tree; else 0 */
	uint32_t nmembers;           /* root image: the tree's other processes (struct ckpt_member) */
	uint64_t tree_id;
	uint32_t members_off;        /* within tables, after the inotify watches */
	uint32_t header_crc;         /* last: CRC32C of the header with this 0 */
};

#define CKPT_PR_SET_MDWE 65 /* Linux 6.3; older headers lack it */
#define CKPT_PR_GET_MDWE 66
#define CKPT_COREDUMP_FILTER_BITS 0x1ffu /* the kernel's MMF_DUMP_FILTER_BITS: 9 */

#include "ckpt_format_thread.h" /* the thread record: registers, scheduling, credentials */

struct ckpt_region {
	uint64_t start, end;
	uint32_t kind;               /* enum ckpt_region_kind */
	uint32_t prot;               /* PROT_* */
	uint32_t flags;              /* enum ckpt_region_flags */
	uint32_t path_str;           /* file regions: path */
	uint64_t file_offset;        /* offset in the file of start */
	uint64_t dev, ino, file_size;
	int64_t mtime_sec, mtime_nsec;
	uint32_t first_extent, nextents;
	uint64_t vm_flags;           /* enum ckpt_vm_flags */
	/* version 11: the region's own NUMA memory policy (mbind; OpenBLAS
	 * binds its buffers), as the thread record's: 0 for none */
	uint32_t mempolicy;
	uint32_t pad_mempolicy;
	uint64_t mempolicy_nodes;
};

#include "ckpt_format_extents.h" /* the extent record, compression */

#include "ckpt_format_fds.h" /* the descriptor records: kinds, fds, epoll watches, locks */
#include "ckpt_format_tree.h" /* process trees: the root image's member table */

#include "ckpt_format_signals.h" /* POSIX timers and pending signals */

#include "ckpt_format_restart_info.h" /* what the stub tells libckpt after a restart */

_Static_assert(sizeof(struct ckpt_header) <= CKPT_HEADER_SIZE, "header fits its page");
_Static_assert(sizeof(struct ckpt_header) % 8 == 0, "header is 8-byte sized");
_Static_assert(sizeof(struct ckpt_link) == 24, "link record size is part of the format");
_Static_assert(sizeof(struct ckpt_thread) == 448, "thread record size is part of the format");
_Static_assert(sizeof(struct ckpt_region) == 112, "region record size is part of the format");
_Static_assert(sizeof(struct ckpt_extent) == 48, "extent record size is part of the format");
_Static_assert(sizeof(struct ckpt_member) == 72, "member record size is part of the format");
_Static_assert(sizeof(struct ckpt_fd) == 280, "fd record size is part of the format");
_Static_assert(sizeof(struct ckpt_lock) == 32, "lock record size is part of the format");
_Static_assert(sizeof(struct ckpt_inotify_watch) == 40, "inotify watch record size is part of the format");
_Static_assert(sizeof(struct ckpt_termios) == 40 && sizeof(struct ckpt_process_state) == 56, "termios, process state sizes");
_Static_assert(sizeof(struct ckpt_timer) == 72, "timer record size is part of the format");
_Static_assert(sizeof(struct ckpt_signal) == 144, "signal record size is part of the format");
_Static_assert(sizeof(struct ckpt_epoll_watch) == 24, "epoll watch record size is part of the format");

#endif
