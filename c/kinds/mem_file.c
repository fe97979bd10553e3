/*
 * File mappings, private (FILE_PRIVATE: pages still the file's are mapped
 * again from it, pages copied on write are stored) and shared (FILE_SHARED:
 * mapped again whole, never given our bytes). A mapping is one only while
 * its path leads to the very file mapped; the restart then needs that file
 * unchanged (same inode, size and mtime), and openable for writing when
 * the mapping may be made writable, and refuses before teardown otherwise.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "mem_kinds.h"
#include "../sys.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../maps.h"
#endif

#ifdef CKPT_LIB
#define AT_EACCESS 0x200

static int same_file(const struct maps_entry *e, const struct stat *st)
{
	uint64_t d = st->st_dev;
	uint32_t major = (uint32_t)(((d >> 8) & 0xfff) | ((d >> 32) & ~0xfffull));
	uint32_t minor = (uint32_t)((d & 0xff) | ((d >> 12) & ~0xffull));
	return st->st_ino == e->inode && major == e->dev_major && minor == e->dev_minor;
}

int mem_file_classify(const struct maps_entry *e, const char *path, struct ckpt_region *r)
{
	struct stat st;
	if (sys_fstatat(AT_FDCWD, path, &st, 0) != 0 || !same_file(e, &st))
		return 0;
	r->kind = e->shared ? CKPT_REGION_FILE_SHARED : CKPT_REGION_FILE_PRIVATE;
	r->file_offset = e->offset;
	r->dev = st.st_dev, r->ino = st.st_ino, r->file_size = (uint64_t)st.st_size;
	r->mtime_sec = st.st_mtim.tv_sec, r->mtime_nsec = st.st_mtim.tv_nsec;
	return 1;
}

enum page_source mem_file_page_source(const struct ckpt_region *r)
{
	return r->kind == CKPT_REGION_FILE_SHARED ? PAGES_ALL_FILE : PAGES_FILE_PRIVATE;
}

/* A restart maps the file again with the rights the mapping had, so one
 * that may be made writable needs the file writable by this user now. */
int mem_file_check_writable(struct capture *c)
{
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct ckpt_region *r = &c->regions[i];
		if (r->kind != CKPT_REGION_FILE_SHARED || !(r->vm_flags & CKPT_VM_MAYWRITE))
			continue;
		const char *path = c->strings + r->path_str;
		long err = SYS4(__NR_faccessat2, AT_FDCWD, path, 2 /* W_OK */, AT_EACCESS);
		if (err == -38 /* ENOSYS: before Linux 5.8; the real ids then */)
			err = SYS3(__NR_faccessat, AT_FDCWD, path, 2 /* W_OK */);
		if (!err)
			continue;
		c->error.len = 0;
		line_str(&c->error, "shared mapping ");
		line_range(&c->error, r->start, r->end);
		line_str(&c->error, " of ");
		line_str(&c->error, path);
		line_str(&c->error, " may be made writable, but the file is not writable now (");
		line_str(&c->error, errno_text(err));
		line_str(&c->error, "): a restart could not map it so; make it writable or map it from a read-only descriptor");
		return -1;
	}
	return 0;
}
#endif

