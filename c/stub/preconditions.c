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
	mem_file_check_world(h, tables);
	check_locked_memory(h, tables);
	check_open_files(h, tables);
}
