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
		case CKPT_FD_UNIX_SOCKET: /* one the tree's root made (bound) was checked there */
			if (tree_parked_fd(&f[i]) < 0 && fd_unix_listener_of(f, h->nfds, i, strings) < 0)
				fd_unix_socket_check_world(&f[i], string_at(strings, f[i].path_str));
			break;
		default:
			break; /* the others refuse while being restored, still in phase 1 */
		}
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
	fd_inotify_check_world(h, tables);
}
