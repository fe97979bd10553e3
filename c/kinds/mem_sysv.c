/*
 * SysV shared memory (SYSV_SHM, image format 7): a view shmat made of a
 * segment. Programs keep the segment's id and call shmctl, shmat and shmdt
 * with it later, so the restart makes the segment again at that very id
 * (c/stub/sysv_shm.c: in a new IPC namespace, through shm_next_id) and
 * attaches each view at its address, SHM_RDONLY as it was.
 *
 * The record: ino the id (maps shows it as the inode), file_size the
 * segment's size, dev its permission bits, CKPT_REGION_SHM_REMOVED when it
 * was marked IPC_RMID, CKPT_VM_MAYWRITE when attached without SHM_RDONLY.
 * Its bytes are stored in full: the image is whole on its own.
 *
 * Refused, in one line naming the segment (exact or refused):
 *  - a segment with a key: a process outside the checkpoint could attach
 *    it later by the key, and the restart's IPC namespace would hide it;
 *  - a view of part of a segment (shmdt leaves none, munmap or mprotect of
 *    part does): each view comes back as a whole shmat;
 *  - a segment locked in memory (SHM_LOCK) or of huge pages (SHM_HUGETLB);
 *  - a segment attached by a process the checkpoint does not hold (its
 *    shm_nattch counts more views than the image has; in a tree, the root
 *    counts every member's: c/lib/tree_shared_memory.c);
 *  - with any segment, the other SysV objects the restart's IPC namespace
 *    would not hold (c/lib/sysv_ipc_audit.c).
 */
#include <sys/mman.h>
#include <linux/shm.h>
#include "mem_kinds.h"
#include "../sys.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../maps.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif

int mem_sysv_region_ok(const struct ckpt_region *r)
{
	uint64_t whole = (r->file_size + CKPT_PAGE_SIZE - 1) & ~(uint64_t)(CKPT_PAGE_SIZE - 1);
	return r->file_size && r->ino <= MEM_SYSV_ID_MAX && r->dev <= 0777 && r->file_offset == 0 &&
	       r->end - r->start == whole;
}

#ifdef CKPT_LIB
static int refuse_segment(struct capture *c, const struct ckpt_region *r, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "SysV shared memory segment id ");
	line_u64(&c->error, r->ino);
	line_str(&c->error, " at ");
	line_range(&c->error, r->start, r->end);
	line_str(&c->error, why);
	return -1;
}

int mem_sysv_classify(struct capture *c, const struct maps_entry *e, struct ckpt_region *r)
{
	r->kind = CKPT_REGION_SYSV_SHM;
	r->ino = e->inode, r->dev = 0, r->file_offset = e->offset;
	struct shmid64_ds ds;
	long err = sys_shmctl((int)e->inode, IPC_STAT, &ds);
	if (err < 0 || e->inode > MEM_SYSV_ID_MAX)
		return refuse_segment(c, r, ": its size and mode cannot be read (IPC_STAT), so it cannot be made again");
	if (ds.shm_perm.key != IPC_PRIVATE) {
		struct line l = {.len = 0};
		line_str(&l, " has a key (");
		line_hex(&l, (uint32_t)ds.shm_perm.key);
		line_str(&l, "): a process outside the checkpoint could attach it by its key, which the restart's own "
			      "IPC namespace would hide; only IPC_PRIVATE segments are restored");
		return refuse_segment(c, r, l.buf);
	}
	if (ds.shm_perm.mode & MEM_SYSV_SHM_LOCKED)
		return refuse_segment(c, r, " is locked in memory (SHM_LOCK), which a restart does not do again");
	r->file_size = ds.shm_segsz;
	r->dev = ds.shm_perm.mode & 0777;
	if (e->end - e->start > ((ds.shm_segsz + CKPT_PAGE_SIZE - 1) & ~(uint64_t)(CKPT_PAGE_SIZE - 1)))
		return refuse_segment(c, r, " is of huge pages (SHM_HUGETLB), which a restart does not make again");
	if (ds.shm_perm.mode & MEM_SYSV_SHM_DEST)
		r->flags |= CKPT_REGION_SHM_REMOVED;
	if (!mem_sysv_region_ok(r))
		return refuse_segment(c, r, " is mapped in part (munmap or mprotect of part of its view): the restart "
					    "attaches whole views only");
	return 0;
}

static int maps_segment(void *ctx, uint64_t id)
{
	const struct capture *c = ctx;
	for (uint32_t i = 0; i < c->nregions; i++)
		if (c->regions[i].kind == CKPT_REGION_SYSV_SHM && c->regions[i].ino == id)
			return 1;
	return 0;
}

int mem_sysv_check_attachments(struct capture *c)
{
	int any = 0;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (r->kind != CKPT_REGION_SYSV_SHM)
			continue;
		any = 1;
		uint64_t views = 0;
		for (uint32_t j = 0; j < c->nregions; j++)
			views += c->regions[j].kind == CKPT_REGION_SYSV_SHM && c->regions[j].ino == r->ino;
		struct shmid64_ds ds;
		if (sys_shmctl((int)r->ino, IPC_STAT, &ds) == 0 && ds.shm_nattch == views)
			continue;
		return refuse_segment(c, r, " is attached by another process too, which the restart could not attach "
					    "again");
	}
	int32_t self = (int32_t)sys_getpid();
	return any ? sysv_refuse_lost_objects(c, &self, 1, maps_segment, c) : 0;
}
#endif

#ifdef CKPT_STUB
/* Attached writable while its bytes load; a read-only view is attached
 * again SHM_RDONLY once they are in (finish_sysv_views). */
long mem_sysv_map(const struct ckpt_region *r)
{
	return sys_shmat((int)r->ino, (void *)r->start, SHM_REMAP);
}
#endif
