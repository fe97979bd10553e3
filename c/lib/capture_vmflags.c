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
#include <errno.h>
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"
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
		if (r->kind == CKPT_REGION_FILE_SHARED || r->kind == CKPT_REGION_SYSV_SHM /* else SHM_RDONLY */)
			r->vm_flags |= flags & CKPT_VM_MAYWRITE;
	}
	*next = i;
}

/* Where the walk of smaps is: the entry whose lines are being read, and
 * the flags the scratch mapping's entry had. */
struct smaps_walk {
	uint64_t start, stop, scratch_flags;
	uint32_t next;
};

static void walk_lines(struct capture *c, struct smaps_walk *w, const char *p, const char *end)
{
	uint64_t scratch = (uint64_t)c->scratch;
	while (p < end) {
		const char *eol = p;
		while (eol < end && *eol != '\n')
			eol++;
		struct maps_entry e;
		const char *cur = p;
		if (str_starts(p, "VmFlags:")) {
			uint64_t flags = maps_vmflags(p + 8, eol);
			apply(c, &w->next, w->start, w->stop, flags);
			if (scratch >= w->start && scratch < w->stop)
				w->scratch_flags = flags;
		} else if (maps_next(&cur, eol, &e) == 1)
			w->start = e.start, w->stop = e.end;
		p = eol + 1;
	}
}

/* smaps is read a window at a time, whole lines walked, the unfinished
 * last line carried to the next window: at about 550 bytes a region, the
 * whole text for the kernel's default limit of 65,530 regions would be
 * 36 MiB of scratch, more than the text area holds. */
#define SMAPS_WINDOW (1u << 20)

static int walk_smaps(struct capture *c, struct smaps_walk *w)
{
	long fd = sys_openat(AT_FDCWD, "/proc/self/smaps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return capture_fail(c, "cannot read /proc/self/smaps", fd);
	uint64_t have = 0;
	long n;
	do {
		n = sys_read((int)fd, c->text + have, SMAPS_WINDOW - have);
		if (n < 0)
			break;
		have += (uint64_t)n;
		uint64_t whole = have;
		while (n > 0 && whole > 0 && c->text[whole - 1] != '\n')
			whole--;
		if (n > 0 && whole == 0 && have == SMAPS_WINDOW) {
			n = -E2BIG; /* one line longer than the window: a path is at most 4 KiB, so never */
			break;
		}
		walk_lines(c, w, c->text, c->text + whole);
		for (uint64_t i = whole; i < have; i++)
			c->text[i - whole] = c->text[i];
		have -= whole;
	} while (n > 0);
	sys_close((int)fd);
	return n < 0 ? capture_fail(c, "cannot read /proc/self/smaps", n) : 0;
}

int capture_vmflags(struct capture *c)
{
	struct smaps_walk w = {0};
	if (walk_smaps(c, &w))
		return -1;
	if (w.scratch_flags & CKPT_VM_LOCKED)
		return capture_fail(c, "mlockall(MCL_FUTURE) is in force, and a restart would not lock memory mapped after it; "
				       "lock regions with mlock, or call mlockall(MCL_CURRENT) alone", 0);
	return mem_file_check_writable(c);
}
