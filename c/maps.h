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
