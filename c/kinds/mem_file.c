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
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif

/* A file region names its file and starts at a page of it. */
int mem_file_region_ok(const struct ckpt_region *r)
{
	return r->path_str && ckpt_page_aligned(r->file_offset);
}

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

#ifdef CKPT_STUB
/* "2024-05-01T12:00:00.123456789Z", from the days-to-civil-date algorithm
 * (proleptic Gregorian calendar, eras of 400 years). */
static void line_utc(struct line *l, int64_t sec, int64_t nsec)
{
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0)
		rem += 86400, days--;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);
	const int64_t parts[] = {year, month, day, rem / 3600, rem / 60 % 60, rem % 60};
	const char *sep = "--T::.";
	for (int i = 0; i < 6; i++) {
		if (i && parts[i] < 10)
			line_str(l, "0");
		line_u64(l, (uint64_t)parts[i]);
		line_str(l, (char[]){sep[i], 0});
	}
	char digits[10] = "000000000";
	for (int i = 8, v = (int)nsec; i >= 0; i--, v /= 10)
		digits[i] = (char)('0' + v % 10);
	line_str(l, digits);
	line_str(l, "Z");
}

/* Why `st` is not the file region r mapped, appended to `why`; 0 if it is. */
static int file_changed(struct line *why, const struct stat *st, const struct ckpt_region *r)
{
	if (st->st_ino != r->ino) {
		line_str(why, "was replaced (inode ");
		line_u64(why, r->ino);
		line_str(why, ", now ");
		line_u64(why, st->st_ino);
	} else if ((uint64_t)st->st_size != r->file_size) {
		line_str(why, "changed size (");
		line_u64(why, r->file_size);
		line_str(why, " bytes, now ");
		line_u64(why, (uint64_t)st->st_size);
	} else if (st->st_mtim.tv_sec != r->mtime_sec || st->st_mtim.tv_nsec != r->mtime_nsec) {
		line_str(why, "was modified (mtime ");
		line_utc(why, r->mtime_sec, r->mtime_nsec);
		line_str(why, ", now ");
		line_utc(why, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	} else {
		return 0;
	}
	line_str(why, ")");
	return 1;
}

static void check_mapped_files(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	const char *strings = t + h->strings_off;
	for (uint32_t i = 0; i < h->nregions; i++) {
		if (!mem_kind_is_file(r[i].kind))
			continue;
		if (i && r[i - 1].path_str == r[i].path_str)
			continue; /* the next segment of a file just checked */
		const char *path = string_at(strings, r[i].path_str);
		struct stat st;
		struct line why = {.len = 0};
		line_str(&why, "mapped file ");
		line_str(&why, path);
		line_str(&why, " ");
		if (sys_fstatat(AT_FDCWD, path, &st, 0) < 0)
			line_str(&why, "no longer exists");
		else if (!file_changed(&why, &st, &r[i]))
			continue;
		line_str(&why, " since the checkpoint");
		die_line(&why);
	}
}

/* A shared mapping that may be made writable is mapped from a file opened
 * O_RDWR (mem_file_map): this user must still be able to open it so. */
static void check_writable_mappings(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	const char *strings = t + h->strings_off;
	for (uint32_t i = 0; i < h->nregions; i++) {
		if (r[i].kind != CKPT_REGION_FILE_SHARED || !(r[i].vm_flags & CKPT_VM_MAYWRITE))
			continue;
		const char *path = string_at(strings, r[i].path_str);
		long fd = sys_openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0);
		if (fd >= 0) {
			sys_close((int)fd);
			continue;
		}
		struct line why = {.len = 0};
		line_str(&why, "mapped file ");
		line_str(&why, path);
		line_str(&why, " cannot be opened for writing (");
		line_str(&why, errno_text(fd));
		line_str(&why, "), and its shared mapping ");
		line_range(&why, r[i].start, r[i].end);
		line_str(&why, " may be made writable; make it writable by this user");
		die_line(&why);
	}
}

void mem_file_check_world(const struct ckpt_header *h, const char *tables)
{
	check_mapped_files(h, tables);
	check_writable_mappings(h, tables);
}

long mem_file_map(const struct ckpt_region *r, int flags, int prot)
{
	const char *path = string_at(restart.strings, r->path_str);
	/* Opened with the rights the mapping had, not only those it uses now:
	 * a read-only view of a file opened for writing may be mprotect'ed
	 * writable later (checked possible in phase 1). */
	int shared_rw = r->kind == CKPT_REGION_FILE_SHARED && (r->prot & PROT_WRITE || r->vm_flags & CKPT_VM_MAYWRITE);
	long fd = sys_openat(AT_FDCWD, path, (shared_rw ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
	if (fd < 0)
		die_path("cannot open mapped file", path, fd);
	/* Checked in phase 1 already; this catches a change made since. */
	struct stat st;
	struct line why = {.len = 0};
	if (sys_fstat((int)fd, &st) < 0 || file_changed(&why, &st, r))
		die_path("mapped file changed during the restart:", path, 0);
	long m = sys_mmap((void *)r->start, r->end - r->start, prot, flags, (int)fd, (long)r->file_offset);
	sys_close((int)fd);
	return m;
}
#endif
