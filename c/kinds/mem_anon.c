/*
 * Anonymous memory: private (ANON, the heap among it), the main stack
 * (STACK, mapped MAP_GROWSDOWN again) and shared (SHARED_ANON). Every
 * region starts as one of these; mem_file.c claims those whose file can be
 * mapped again. What is left of a file mapping (a deleted or replaced file,
 * libckpt itself) keeps its path for display, and its pages are stored.
 */
#include <sys/mman.h>
#include "mem_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../maps.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#include "../sys.h"
#endif

#ifdef CKPT_LIB
void mem_anon_classify(const struct maps_entry *e, struct ckpt_region *r)
{
	r->kind = e->shared ? CKPT_REGION_SHARED_ANON : CKPT_REGION_ANON;
	/* The shared object's identity and this view's place in it: a tree's
	 * restart makes one object for every process mapping the same one. */
	if (e->shared)
		r->dev = maps_dev(e), r->ino = e->inode, r->file_offset = e->offset;
	if (maps_is(e, "[stack]"))
		r->kind = CKPT_REGION_STACK;
	if (maps_is(e, "[heap]"))
		r->flags |= CKPT_REGION_HEAP;
}

/* A shared mapping of an object that cannot be opened again (a deleted or
 * replaced file, a memfd, a SysV segment) may be shared with another
 * process, or twice within this one (a JIT's second view of its code):
 * brought back as private shared memory it would silently stop being one
 * with them. MAP_SHARED|MAP_ANONYMOUS (/dev/zero) has no other holder
 * outside the tree. In a tree, a deleted file or memfd (sem_open's
 * semaphores once sem_unlink'd, as Python's multiprocessing does) comes
 * back like it, one object for every member mapping it; the root refuses
 * it if a descriptor or a process outside the tree holds it
 * (tree_shared_memory.c). A replaced file never. A SysV segment is
 * mem_sysv.c's: it comes back at its id. */
int mem_anon_refuse_lost_sharing(struct capture *c, const struct maps_entry *e, const char *path)
{
	if (maps_is(e, "/dev/zero") || maps_is(e, "/[aio]") /* refused by name elsewhere */)
		return 0;
	/* memfd_secret: in a tree it would come back as plain shared memory, readable by all. */
	int secret = maps_is(e, "/secretmem");
	if (c->tree && e->deleted && !str_starts(path, "/SYSV") && !secret)
		return 0;
	c->error.len = 0;
	line_str(&c->error, "shared mapping ");
	line_range(&c->error, e->start, e->end);
	line_str(&c->error, " of ");
	line_str(&c->error, path);
	line_str(&c->error, e->deleted ? " (deleted)" : " (replaced since it was mapped)");
	line_str(&c->error, secret ? " cannot be restored: it is a memfd_secret area, whose memory not even the kernel may read for ckpt"
				   : " cannot be restored: the sharing with other mappings of it would be lost");
	return -1;
}

/* A mapping named neither by a path nor in brackets ("anon_inode:[io_uring]",
 * "anon_inode:[perf_event]") is a kernel object's memory: an io_uring's
 * rings, a perf buffer. Its bytes could be stored, but after a restart they
 * would be plain memory the kernel no longer reads or fills: a silent
 * difference. An io_uring lives on through its rings after the program
 * closed its fd, so the fd's refusal does not cover this. */
int mem_anon_refuse_kernel_object(struct capture *c, const struct maps_entry *e)
{
	if (e->path_len == 0 || e->path[0] == '/' || e->path[0] == '[')
		return 0;
	char name[128];
	int n = e->path_len < (int)sizeof name - 1 ? e->path_len : (int)sizeof name - 1;
	for (int i = 0; i < n; i++)
		name[i] = e->path[i];
	name[n] = 0;
	c->error.len = 0;
	line_str(&c->error, "mapping ");
	line_range(&c->error, e->start, e->end);
	line_str(&c->error, " of ");
	line_str(&c->error, name);
	line_str(&c->error, " is a kernel object's memory, which cannot be restored (a copy of its bytes would no "
			    "longer be connected to the object); checkpoint once it is unmapped");
	return -1;
}

int mem_shared_object_mapped(struct capture *c)
{
	long len = read_proc_file(c, "/proc/self/maps");
	const char *cur = c->text, *end = c->text + (len > 0 ? len : 0);
	struct maps_entry e;
	int k;
	while ((k = maps_next(&cur, end, &e)) != 0)
		if (k > 0 && maps_shared_object(&e))
			return 1;
	return 0;
}

enum page_source mem_anon_page_source(const struct ckpt_region *r)
{
	int copy_of_file = r->kind == CKPT_REGION_ANON && r->path_str; /* deleted file or libckpt */
	/* A deleted file's protected gap between a library's segments can reach
	 * past the end of the file, where no read succeeds: only its pages in
	 * memory are kept, one never touched comes back as zeros (a limit the
	 * ARCHITECTURE lists). */
	if (copy_of_file && (r->flags & CKPT_REGION_UNREAD))
		return PAGES_ANON;
	if (r->kind == CKPT_REGION_SHARED_ANON || copy_of_file)
		return PAGES_ALL_DATA;
	return PAGES_ANON;
}
#endif

#ifdef CKPT_STUB
long mem_anon_map(const struct ckpt_region *r, int flags, int prot)
{
	int shared_in_tree = r->kind == CKPT_REGION_SHARED_ANON ? tree_memory_fd(r) : -1;
	if (shared_in_tree >= 0) /* the object other processes of the tree map too */
		return sys_mmap((void *)r->start, r->end - r->start, prot, flags, shared_in_tree, (long)r->file_offset);
	return sys_mmap((void *)r->start, r->end - r->start, prot,
			flags | MAP_ANONYMOUS | (r->kind == CKPT_REGION_STACK ? MAP_GROWSDOWN : 0), -1, 0);
}
#endif
