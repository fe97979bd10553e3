/*
 * Phase 1, after the image checked out: does this machine still hold what
 * the image refers to? Files it mapped must be the very files (same inode,
 * size and mtime: their pages are mapped again, not stored), files it had
 * open must still be there and reach their offsets, and this kernel's
 * [vvar]/[vvar_vclock]/[vdso] must have the sizes the image's had (the
 * stub moves ours to the saved addresses, and the program's libc cached
 * pointers into them). Each refusal says exactly what changed, and comes
 * before anything is torn down, so `ckpt restart` needs no checks of its own.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "stub.h"
#include "../kinds/fd_kinds.h"
#include "../maps.h"
#include "../sys.h"

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

int file_changed(struct line *why, const struct stat *st, const struct ckpt_region *r)
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
		if (r[i].kind != CKPT_REGION_FILE_PRIVATE && r[i].kind != CKPT_REGION_FILE_SHARED)
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
 * O_RDWR (memory.c): this user must still be able to open it so. */
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

/* Whether what each open descriptor needs is still there, by its kind. */
static void check_open_files(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_fd *f = (const void *)(t + h->fds_off);
	const char *strings = t + h->strings_off;
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (f[i].shares_with)
			continue; /* the lower fd it shares with stands for it */
		switch (f[i].kind) {
		case CKPT_FD_FILE:
			fd_file_check_world(&f[i], string_at(strings, f[i].path_str));
			break;
		default:
			break; /* the others refuse while being restored, still in phase 1 */
		}
	}
}

/* Sizes of this process's special mappings, 0 where absent. */
static void special_sizes(uint64_t size[CKPT_NSPECIAL])
{
	char buf[16384]; /* the stub has a handful of mappings */
	long fd = sys_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		die("cannot read /proc/self/maps", fd);
	long len = 0;
	for (long n; len < (long)sizeof buf; len += n) {
		n = sys_read((int)fd, buf + len, sizeof buf - (uint64_t)len);
		if (n < 0)
			die("cannot read /proc/self/maps", n);
		if (!n)
			break;
	}
	sys_close((int)fd);
	const char *at = buf;
	struct maps_entry e;
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		size[k] = 0;
	for (int rc; (rc = maps_next(&at, buf + len, &e)) != 0;)
		for (int k = 0; rc > 0 && k < CKPT_NSPECIAL; k++)
			if (maps_is(&e, ckpt_special_names[k]))
				size[k] = e.end - e.start;
}

static void line_layout_size(struct line *l, uint64_t size)
{
	if (!size) {
		line_str(l, "absent");
		return;
	}
	line_u64(l, size);
	line_str(l, " bytes");
}

static void check_vdso_layout(const struct ckpt_header *h)
{
	uint64_t here[CKPT_NSPECIAL];
	special_sizes(here);
	for (int k = 0; k < CKPT_NSPECIAL; k++) {
		uint64_t there = h->special_end[k] - h->special_start[k];
		if (here[k] == there)
			continue;
		struct { char s[6][65]; } uts;
		struct line why = {.len = 0};
		line_str(&why, "this kernel's vDSO layout differs from the image's (");
		line_str(&why, ckpt_special_names[k]);
		line_str(&why, " is ");
		line_layout_size(&why, here[k]);
		line_str(&why, " here, ");
		line_layout_size(&why, there);
		line_str(&why, " in the image); restart on the kernel that took it (");
		char release[sizeof h->kernel_release + 1];
		str_copy(release, sizeof release, h->kernel_release);
		line_str(&why, release);
		line_str(&why, ", this is ");
		line_str(&why, sys_uname(&uts) < 0 ? "unknown" : uts.s[2]);
		line_str(&why, ")");
		die_line(&why);
	}
}

/* The working directory is entered after teardown; a missing one must
 * refuse the restart now, while it can still end cleanly. */
static void check_cwd(const struct ckpt_header *h, const char *t)
{
	const char *cwd = string_at(t + h->strings_off, h->cwd_str);
	struct stat st;
	if (sys_fstatat(AT_FDCWD, cwd, &st, 0) == 0 && S_ISDIR(st.st_mode))
		return;
	struct line why = {.len = 0};
	line_str(&why, "the working directory ");
	line_str(&why, cwd);
	line_str(&why, " no longer exists");
	die_line(&why);
}

void check_world(const struct ckpt_header *h, const char *tables)
{
	check_cwd(h, tables);
	check_vdso_layout(h);
	check_mapped_files(h, tables);
	check_writable_mappings(h, tables);
	check_locked_memory(h, tables);
	check_open_files(h, tables);
}
