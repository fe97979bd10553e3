/*
 * One file per kind of memory region (enum ckpt_region_kind), and per
 * extent kind with behaviour of its own, each holding every direction of
 * that kind: its capture (libckpt, CKPT_LIB: raw syscalls only, it runs in
 * the signal handler), its record checks (both sides), its world checks
 * and its restore (the stub, CKPT_STUB: no libc, no relocations).
 *
 * Each phase dispatches on the kind in one place, with a switch (the stub
 * may hold no table of function pointers): capture_regions.c classifies and
 * picks the page source, validate.c checks the records, preconditions.c
 * the world (main.c asks mem_guard.c about the kernel), memory.c maps.
 * The generic machinery stays with its callers:
 * pagemap scanning (page_kind.c), the writer, the parallel loader, the
 * forced writes of uncharged regions, advice, unmapping, the vDSO move.
 */
#ifndef CKPT_MEM_KINDS_H
#define CKPT_MEM_KINDS_H

#include "../ckpt_format.h"
#include "../str.h"

/* Backed by a file the restart maps again: the world must still hold it. */
static inline int mem_kind_is_file(uint32_t kind)
{
	return kind == CKPT_REGION_FILE_PRIVATE || kind == CKPT_REGION_FILE_SHARED;
}

/* Mapped MAP_SHARED: its pages belong to the file or the shared object,
 * never to a private copy. */
static inline int mem_kind_is_shared(uint32_t kind)
{
	return kind == CKPT_REGION_FILE_SHARED || kind == CKPT_REGION_SHARED_ANON || kind == CKPT_REGION_SYSV_SHM;
}

/* The most objects a tree's processes may share memory through (each a
 * SHARED_ANON object, by dev and ino): the root refuses more at checkpoint
 * (tree_shared_memory.c); the stub keeps one slot per object in its own
 * data (tree_memory.c), which phase 2's arena copies. */
#define MEM_SHARED_OBJECTS_MAX 256

/* Record checks, on a region whose kind is a file kind (mem_file.c). */
int mem_file_region_ok(const struct ckpt_region *r);
/* mem_sysv.c: a SysV segment's id (a shmid is a non-negative int), and the
 * record check of a SYSV_SHM region: a whole view of a sane segment. */
#define MEM_SYSV_ID_MAX 0x7fffffffull
#define MEM_SYSV_SHM_DEST 01000   /* in shm_perm.mode: marked IPC_RMID (the kernel's SHM_DEST) */
#define MEM_SYSV_SHM_LOCKED 02000 /* in shm_perm.mode: shmctl(SHM_LOCK) (the kernel's SHM_LOCKED) */
int mem_sysv_region_ok(const struct ckpt_region *r);

#ifdef CKPT_LIB
#include "../lib/page_kind.h"
struct capture;
struct maps_entry;

/* mem_anon.c: ANON, STACK and SHARED_ANON, the kinds every region starts
 * as; a shared mapping of an object that cannot be opened again is
 * refused (-1, reason in c->error) unless it is /dev/zero's, and so is a
 * kernel object's memory (an io_uring's rings). */
void mem_anon_classify(const struct maps_entry *e, struct ckpt_region *r);
int mem_anon_refuse_lost_sharing(struct capture *c, const struct maps_entry *e, const char *path);
int mem_anon_refuse_kernel_object(struct capture *c, const struct maps_entry *e);
/* Whether this process maps a shared object whose bytes the image stores
 * (maps_shared_object: shared anonymous memory, a memfd, a SysV segment):
 * a --continue checkpoint is then written in the foreground, since a
 * copy-on-write writer would read pages the program goes on writing
 * (shared pages are never copied on write): a torn image. */
int mem_shared_object_mapped(struct capture *c);
enum page_source mem_anon_page_source(const struct ckpt_region *r);

/* mem_file.c: 1 and the file's identity filled in when `path` still leads
 * to the file mapped, else 0 (its pages are then stored, as anonymous). */
int mem_file_classify(const struct maps_entry *e, const char *path, struct ckpt_region *r);
enum page_source mem_file_page_source(const struct ckpt_region *r);
/* mem_sysv.c: a view of a SysV segment (maps path "/SYSV..."), filled in
 * from IPC_STAT, or refused (-1, reason in c->error); after every region,
 * for a process that is not a tree's: each segment's shm_nattch must be
 * its views here, or another process holds it. Bytes: PAGES_ALL_DATA. */
int mem_sysv_classify(struct capture *c, const struct maps_entry *e, struct ckpt_region *r);
int mem_sysv_check_attachments(struct capture *c);
/* After the VmFlags are read: a shared mapping that may be made writable
 * needs its file writable by this user now. */
int mem_file_check_writable(struct capture *c);
#endif

#ifdef CKPT_STUB
/* mem_anon.c, mem_file.c: map region r at its address with mmap `flags`
 * (MAP_FIXED, shared or private, MAP_NORESERVE) and `prot`; returns mmap's
 * result. */
long mem_anon_map(const struct ckpt_region *r, int flags, int prot);
long mem_file_map(const struct ckpt_region *r, int flags, int prot);
/* mem_sysv.c: shmat at the view's address, writable while it loads. */
long mem_sysv_map(const struct ckpt_region *r);
/* Phase 1: every mapped file unchanged, and openable as its mapping needs. */
void mem_file_check_world(const struct ckpt_header *hdr, const char *tables);

/* mem_guard.c: refuse guard pages this kernel cannot install (phase 1),
 * install them (phase 2). */
void check_guard_support(const struct ckpt_header *hdr, const char *tables);
void install_guards(void);
#endif

#endif
