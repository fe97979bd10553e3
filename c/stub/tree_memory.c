/*
 * Memory the processes of a tree share through a common mapping alone
 * (docs/process-trees.md, "Memory between members"): each SHARED_ANON
 * object (MAP_SHARED|MAP_ANONYMOUS across fork, a deleted file or memfd),
 * known across the images by its dev and ino, that more than one region
 * maps: in two processes, or twice in one (a deleted file or memfd is
 * allowed in a tree, and two views of it must stay one object). The root makes one memfd per object before any member exists,
 * long enough for every view of it, and parks it with the shared
 * descriptors; in phase 2 each process maps its views of it MAP_SHARED at
 * their offsets (mem_anon_map) and loads the bytes its own image stored
 * (every holder stored the same: all were stopped), before barrier 2 lets
 * any of them run; then closes every memfd. An object one region alone
 * maps comes back as shared anonymous memory, as without a tree.
 *
 * The table lives in the stub's own data, so phase 2's copy in the arena
 * still has it when the memory it was built from is gone.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "tree.h"
#include "../sys.h"


static struct { uint64_t dev, ino; int at; } objects[MEM_SHARED_OBJECTS_MAX];
static uint32_t nobjects;

static const struct ckpt_region *regions_of(uint32_t proc, uint32_t *n)
{
	const struct tree_process *p = &tree.proc[proc];
	*n = p->hdr ? p->hdr->nregions : 0;
	return p->hdr ? (const void *)(p->tables + p->hdr->regions_off) : 0;
}

static int same_object(const struct ckpt_region *a, uint64_t dev, uint64_t ino)
{
	return a->kind == CKPT_REGION_SHARED_ANON && a->dev == dev && a->ino == ino;
}

/* How long the object must be for every view of it, and how many
 * regions, in all processes, map it. */
static uint64_t object_extent(uint64_t dev, uint64_t ino, uint32_t *views)
{
	uint64_t size = 0;
	*views = 0;
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_region *r = regions_of(p, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (!same_object(&r[i], dev, ino))
				continue;
			(*views)++;
			if (r[i].file_offset + (r[i].end - r[i].start) > size)
				size = r[i].file_offset + (r[i].end - r[i].start);
		}
	}
	return size;
}

static int known(uint64_t dev, uint64_t ino)
{
	for (uint32_t i = 0; i < nobjects; i++)
		if (objects[i].dev == dev && objects[i].ino == ino)
			return 1;
	return 0;
}

int park_shared_memory(int next)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n, views;
		const struct ckpt_region *r = regions_of(p, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (r[i].kind != CKPT_REGION_SHARED_ANON || known(r[i].dev, r[i].ino))
				continue;
			uint64_t size = object_extent(r[i].dev, r[i].ino, &views);
			if (views < 2)
				continue;
			if (nobjects == MEM_SHARED_OBJECTS_MAX)
				die("too many memory objects shared between the tree's processes (corrupt image)", 0);
			/* Named after what it was: maps shows "/memfd:/dev/zero (deleted)". */
			const char *path = tree.proc[p].tables + tree.proc[p].hdr->strings_off + r[i].path_str;
			char name[200] = "/dev/zero";
			for (uint32_t k = 0; r[i].path_str && k < sizeof name - 1 && (name[k] = path[k]); k++)
				;
			name[sizeof name - 1] = 0;
			long fd = sys_memfd_create(name, MFD_CLOEXEC);
			if (fd < 0)
				die("cannot create the memory the tree's processes share", fd);
			long err = sys_ftruncate((int)fd, (long)size);
			if (err < 0)
				die("cannot size the memory the tree's processes share", err);
			objects[nobjects++] = (typeof(objects[0])){.dev = r[i].dev, .ino = r[i].ino, .at = park_fd((int)fd, &next)};
		}
	}
	return next;
}

int tree_memory_fd(const struct ckpt_region *r)
{
	for (uint32_t i = 0; i < nobjects; i++)
		if (same_object(r, objects[i].dev, objects[i].ino))
			return objects[i].at;
	return -1;
}

void close_tree_memory(void)
{
	for (uint32_t i = 0; i < nobjects; i++)
		sys_close(objects[i].at);
	nobjects = 0;
}
