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
 */
#include "ckpt_lib.h"
#include "../maps.h"
#include "../kinds/mem_kinds.h"

static void apply(struct capture *c, uint32_t *next, uint64_t start, uint64_t end, uint64_t flags)
{
	uint32_t i = *next;
	while (i < c->nregions && c->regions[i].end <= start)
		i++;
	for (; i < c->nregions && c->regions[i].start < end; i++) {
		struct ckpt_region *r = &c->regions[i];
		r->vm_flags = flags & ~(uint64_t)CKPT_VM_MAYWRITE;
		if (r->kind == CKPT_REGION_FILE_SHARED)
			r->vm_flags |= flags & CKPT_VM_MAYWRITE;
	}
	*next = i;
}

int capture_vmflags(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/smaps");
	if (len <= 0)
		return capture_fail(c, "cannot read /proc/self/smaps", len);
	if ((uint64_t)len >= c->text_cap - 1)
		return capture_fail(c, "/proc/self/smaps is too large to read", 0);
	const char *p = c->text, *end = c->text + len;
	uint64_t start = 0, stop = 0, scratch_flags = 0, scratch = (uint64_t)c->scratch;
	uint32_t next = 0;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		struct maps_entry e;
		const char *cur = p;
		if (str_starts(p, "VmFlags:")) {
			uint64_t flags = maps_vmflags(p + 8, eol);
			apply(c, &next, start, stop, flags);
			if (scratch >= start && scratch < stop)
				scratch_flags = flags;
		} else if (maps_next(&cur, eol, &e) == 1)
			start = e.start, stop = e.end;
		p = eol + 1;
	}
	if (scratch_flags & CKPT_VM_LOCKED)
		return capture_fail(c, "mlockall(MCL_FUTURE) is in force, and a restart would not lock memory mapped after it; "
				       "lock regions with mlock, or call mlockall(MCL_CURRENT) alone", 0);
	return mem_file_check_writable(c);
}
