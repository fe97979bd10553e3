/*
 * What a region's line of /proc/self/maps does not say: the VmFlags of
 * /proc/self/smaps the program set with madvise, mlock or mseal (enum
 * ckpt_vm_flags), which the stub sets again, and, for shared file
 * mappings, whether the mapping may be made writable (mw: the file was
 * opened for writing), so the stub reopens the file O_RDWR and a later
 * mprotect(PROT_WRITE) works as it did (c/kinds/mem_file.c checks the
 * file is writable now).
 *
 * The scratch mapping may have split a line of maps into two regions, so
 * an smaps entry applies to every region inside it, not only to the one
 * that starts where it starts. The scratch mapping's own flags tell one
 * more thing: it is new, so it is locked only when mlockall(MCL_FUTURE) is
 * in force, a setting of the whole process that no region records and
 * the image has no place for: refused, since memory mapped after a
 * restart would silently not be locked.
 *
 * smaps_walk.c reads smaps, on a thread of its own since the stop.
 */
#include <errno.h>
#include "ckpt_lib.h"
#include "../kinds/mem_kinds.h"
#include "smaps_walk.h"

static void apply(struct capture *c, uint32_t *next, uint64_t start, uint64_t end, uint64_t flags)
{
	uint32_t i = *next;
	while (i < c->nregions && c->regions[i].end <= start)
		i++;
	for (; i < c->nregions && c->regions[i].start < end; i++) {
		struct ckpt_region *r = &c->regions[i];
		r->vm_flags = flags & ~(uint64_t)CKPT_VM_MAYWRITE;
		if (r->kind == CKPT_REGION_FILE_SHARED || r->kind == CKPT_REGION_SYSV_SHM /* else SHM_RDONLY */)
			r->vm_flags |= flags & CKPT_VM_MAYWRITE;
	}
	*next = i;
}

int capture_vmflags(struct capture *c)
{
	const struct vm_span *spans;
	uint32_t n, next = 0;
	long rc = smaps_walk_join(c->smaps, &spans, &n);
	if (rc == -ENOSPC)
		return capture_fail(c, "/proc/self/smaps has more entries than the capture's table holds", 0);
	if (rc < 0)
		return capture_fail(c, "cannot read /proc/self/smaps", rc);
	uint64_t scratch = (uint64_t)c->scratch, scratch_flags = 0;
	for (uint32_t i = 0; i < n; i++) {
		apply(c, &next, spans[i].start, spans[i].end, spans[i].flags);
		if (scratch >= spans[i].start && scratch < spans[i].end)
			scratch_flags = spans[i].flags;
	}
	if (scratch_flags & CKPT_VM_LOCKED)
		return capture_fail(c, "mlockall(MCL_FUTURE) is in force, and a restart would not lock memory mapped after it; "
				       "lock regions with mlock, or call mlockall(MCL_CURRENT) alone", 0);
	return mem_file_check_writable(c);
}
