/*
 * SysV shared memory segments (SYSV_SHM regions, c/kinds/mem_sysv.c) made
 * again at their ids. A segment id is chosen by the kernel; the one way to
 * ask for a given id is shm_next_id (CONFIG_CHECKPOINT_RESTORE, as CRIU
 * does), writable by whoever owns the IPC namespace, and the id must be
 * free: so a restart of an image holding segments runs in a new IPC
 * namespace too (pid_namespace.c), and refuses to run without one.
 *
 * In the namespace, the root's process makes every segment of every image
 * of the restart before any member exists (IPC_PRIVATE, its size and mode,
 * at its id); each process attaches its views in phase 2 (mem_sysv_map),
 * loads its stored bytes (every holder stored the same: all were stopped),
 * then attaches its read-only views again SHM_RDONLY. A segment that was
 * marked IPC_RMID is marked again by the process with a view of it that
 * completes the count of views (shm_nattch: one per view): once every view
 * is attached, never before, since a removed segment with no attachment
 * left ends at once.
 *
 * The table lives in the stub's own data: members get it by fork, and
 * phase 2's copy in the arena still has it.
 */
#include <fcntl.h>
#include <linux/shm.h>
#include <sys/mman.h>
#include "tree.h"
#include "../sys.h"

static struct { uint64_t id, size, mode; uint32_t removed, views; } segments[MEM_SHARED_OBJECTS_MAX];
static uint32_t nsegments;

static const struct ckpt_region *regions_in(uint32_t p, const struct ckpt_header *h, const char *tables, uint32_t *n)
{
	if (tree.n) {
		h = tree.proc[p].hdr, tables = tree.proc[p].tables;
		if (!h) { /* a zombie: no image */
			*n = 0;
			return 0;
		}
	}
	*n = h->nregions;
	return (const void *)(tables + h->regions_off);
}

int64_t first_sysv_segment(const struct ckpt_header *h, const char *tables)
{
	for (uint32_t p = 0; p < (tree.n ? tree.n : 1); p++) {
		uint32_t n;
		const struct ckpt_region *r = regions_in(p, h, tables, &n);
		for (uint32_t i = 0; i < n; i++)
			if (r[i].kind == CKPT_REGION_SYSV_SHM)
				return (int64_t)r[i].ino;
	}
	return -1;
}

void refuse_sysv_without_namespace(const struct ckpt_header *h, const char *tables, const char *why)
{
	int64_t id = first_sysv_segment(h, tables);
	if (id < 0)
		return;
	struct line l = {.len = 0};
	line_str(&l, "the image holds SysV shared memory (segment id ");
	line_i64(&l, id);
	line_str(&l, "), which restarts only into new namespaces, where each segment gets its id back: ");
	line_str(&l, why);
	die_line(&l);
}

static uint32_t find_segment(uint64_t id)
{
	uint32_t i = 0;
	while (i < nsegments && segments[i].id != id)
		i++;
	return i;
}

static __attribute__((noreturn)) void segment_failed(uint64_t id, const char *why, long err)
{
	struct line l = {.len = 0};
	line_str(&l, "cannot make SysV shared memory segment id ");
	line_u64(&l, id);
	line_str(&l, " again: ");
	line_str(&l, why);
	if (err < 0) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

static void make_segment(const struct ckpt_region *r)
{
	struct line next = {.len = 0};
	line_u64(&next, r->ino);
	long fd = sys_openat(AT_FDCWD, "/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC, 0);
	long err = fd < 0 ? fd : sys_write((int)fd, next.buf, next.len);
	if (fd >= 0)
		sys_close((int)fd);
	if (err < 0)
		segment_failed(r->ino, "cannot write /proc/sys/kernel/shm_next_id (a kernel without "
				       "CONFIG_CHECKPOINT_RESTORE?)", err);
	long id = sys_shmget(IPC_PRIVATE, r->file_size, IPC_CREAT | IPC_EXCL | (int)r->dev);
	if (id < 0)
		segment_failed(r->ino, "shmget", id);
	if ((uint64_t)id != r->ino)
		segment_failed(r->ino, "the kernel gave another id", 0);
}

void make_sysv_segments(const struct ckpt_header *h, const char *tables)
{
	for (uint32_t p = 0; p < (tree.n ? tree.n : 1); p++) {
		uint32_t n;
		const struct ckpt_region *r = regions_in(p, h, tables, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (r[i].kind != CKPT_REGION_SYSV_SHM)
				continue;
			uint32_t k = find_segment(r[i].ino);
			uint32_t removed = (r[i].flags & CKPT_REGION_SHM_REMOVED) != 0;
			if (k == nsegments) {
				if (nsegments == MEM_SHARED_OBJECTS_MAX)
					die("more SysV shared memory segments than a restart makes again (corrupt image)", 0);
				make_segment(&r[i]);
				segments[nsegments++] = (typeof(segments[0])){.id = r[i].ino, .size = r[i].file_size,
									       .mode = r[i].dev, .removed = removed};
			}
			/* Every view of a segment, in every image, says the same of it. */
			if (segments[k].size != r[i].file_size || segments[k].mode != r[i].dev || segments[k].removed != removed)
				die("the images disagree about a SysV shared memory segment (corrupt image)", 0);
			segments[k].views++;
		}
	}
}

static int maps_segment(uint64_t id)
{
	for (uint32_t i = 0; i < restart.hdr->nregions; i++)
		if (restart.regions[i].kind == CKPT_REGION_SYSV_SHM && restart.regions[i].ino == id)
			return 1;
	return 0;
}

void finish_sysv_views(void)
{
	for (uint32_t i = 0; i < restart.hdr->nregions; i++) {
		const struct ckpt_region *r = &restart.regions[i];
		if (r->kind != CKPT_REGION_SYSV_SHM || (r->vm_flags & CKPT_VM_MAYWRITE))
			continue;
		long err = sys_shmdt((void *)r->start);
		long at = err < 0 ? err : sys_shmat((int)r->ino, (void *)r->start, SHM_RDONLY | (r->prot & PROT_EXEC ? SHM_EXEC : 0));
		if (at < 0 || (uint64_t)at != r->start)
			die("cannot attach a SysV shared memory segment read-only at its saved address", at < 0 ? at : 0);
	}
	/* Only a process with a view of its own marks a segment: another's
	 * detach and attach again SHM_RDONLY above may then never bring a
	 * removed one to no attachment, which would end it. */
	for (uint32_t k = 0; k < nsegments; k++) {
		struct shmid64_ds ds;
		if (!segments[k].removed || !maps_segment(segments[k].id) ||
		    sys_shmctl((int)segments[k].id, IPC_STAT, &ds) < 0 || ds.shm_nattch < segments[k].views)
			continue; /* gone already, or a process still has views to attach: the last one marks it */
		long err = sys_shmctl((int)segments[k].id, IPC_RMID, 0);
		if (err < 0)
			die("cannot mark a SysV shared memory segment removed again", err);
	}
}
