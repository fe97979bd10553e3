/* Parsing /proc/self/maps lines: pure code, no syscalls, unit-tested
 * against libc in test/c/. */
#ifndef CKPT_MAPS_H
#define CKPT_MAPS_H
#include <stdint.h>

struct maps_entry {
	uint64_t start, end, offset, inode;
	uint32_t dev_major, dev_minor;
	int prot;          /* PROT_READ | PROT_WRITE | PROT_EXEC */
	int shared;        /* 's' rather than 'p' */
	const char *path;  /* points into the line; "" for anonymous */
	int path_len;      /* without a trailing " (deleted)" */
	int deleted;       /* the file was unlinked (or replaced) */
};

/* Parses the line at *cursor (ending at `end`), advances *cursor past its
 * newline. Returns 1 on success, 0 at the end of the buffer, -1 on a line
 * that does not parse (the cursor still advances past it). */
int maps_next(const char **cursor, const char *end, struct maps_entry *e);

/* 1 if e->path is exactly `name` (e.g. "[vdso]"). */
int maps_is(const struct maps_entry *e, const char *name);

/* 1 for a shared mapping of an object nothing but mappings share: one
 * that cannot be opened again by a path (MAP_SHARED|MAP_ANONYMOUS, shown
 * as "/dev/zero (deleted)"; a memfd; a deleted file; a SysV segment,
 * "/SYSV..."). Its bytes are stored in the image. */
static inline int maps_shared_object(const struct maps_entry *e)
{
	if (!e->shared || !e->inode)
		return 0;
	return e->deleted || maps_is(e, "/dev/zero") || (e->path_len > 5 && e->path[0] == '/' && e->path[1] == 'S' &&
							   e->path[2] == 'Y' && e->path[3] == 'S' && e->path[4] == 'V');
}

/* The entry's device in the encoding stat(2) gives st_dev (the kernel's
 * new_encode_dev), so a region's dev compares with a file's. */
static inline uint64_t maps_dev(const struct maps_entry *e)
{
	uint64_t major = e->dev_major, minor = e->dev_minor;
	return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffull) << 12) | ((major & ~0xfffull) << 32);
}

/* The enum ckpt_vm_flags bits named in the text after "VmFlags:" of an
 * smaps entry, up to eol; other mnemonics are ignored. */
uint64_t maps_vmflags(const char *p, const char *eol);

#endif
