/*
 * What the restart would find wrong with the world, found while the
 * program can still run on. The restart reopens files by the path
 * /proc/self/fd shows and changes into the working directory by the path
 * getcwd gives; if such a path does not lead to the very file or
 * directory the program has now (a directory deleted under it, a path
 * shadowed by a mount), the restart would fail, or worse, reopen another
 * file; and one the program may no longer open as it did (its mode changed
 * since) would fail the restart's reopen. The per-kind rules that need more than a path (deleted files,
 * FIFOs' other ends, locks) are checked where each kind is captured.
 * test/e2e/refusal-audit.test.ts lists every refusal the stub can make
 * about the world and which of these checks, if any, foresees it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../sys.h"

static int leads_to(const char *path, const struct stat *want)
{
	struct stat st;
	return sys_fstatat(AT_FDCWD, path, &st, 0) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* The rights open() needs for the fd's access mode, for faccessat. */
static int access_mode(uint32_t open_flags)
{
	uint32_t acc = open_flags & O_ACCMODE;
	return acc == O_WRONLY ? 2 /* W_OK */ : acc == O_RDWR ? 6 /* R_OK | W_OK */ : 4 /* R_OK */;
}

static int fd_refusal(struct capture *c, const struct ckpt_fd *r, const char *path, const char *why)
{
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)r->fd);
	line_str(&c->error, " (");
	line_str(&c->error, path);
	line_str(&c->error, "): ");
	line_str(&c->error, why);
	return -1;
}

static int check_fd_path(struct capture *c, const struct ckpt_fd *r)
{
	if (r->kind != CKPT_FD_FILE && r->kind != CKPT_FD_FIFO)
		return 0;
	const char *path = c->strings + r->path_str;
	struct stat st;
	if (sys_fstat(r->fd, &st) < 0)
		return 0;
	if (!leads_to(path, &st))
		return fd_refusal(c, r, path, "that path no longer leads to the open file (shadowed by a mount, or out "
					      "of reach), so a restart could not reopen it");
	/* With the effective ids, as open() checks them. */
	long err = sys_faccessat2(AT_FDCWD, path, access_mode(r->open_flags), AT_EACCESS);
	if (err == -13 /* EACCES */ || err == -1 /* EPERM */ || err == -30 /* EROFS */)
		return fd_refusal(c, r, path, (r->open_flags & O_ACCMODE) == O_RDONLY
						      ? "the program may no longer open it for reading, so a restart could not reopen it"
						      : "the program may no longer open it for writing, so a restart could not reopen it");
	return 0;
}

static int check_cwd(struct capture *c)
{
	char cwd[CKPT_PATH_MAX];
	long n = sys_getcwd(cwd, sizeof cwd);
	struct stat here;
	if (n <= 0 || sys_fstatat(AT_FDCWD, ".", &here, 0) < 0 || (cwd[0] == '/' && leads_to(cwd, &here)))
		return 0;
	c->error.len = 0;
	line_str(&c->error, "the working directory ");
	line_str(&c->error, cwd);
	line_str(&c->error, " cannot be reached by its path (deleted, or out of reach), so a restart could not "
			    "change into it");
	return -1;
}

int audit_world(struct capture *c)
{
	for (uint32_t i = 0; i < c->nfds; i++)
		if (check_fd_path(c, &c->fds[i]))
			return -1;
	return check_cwd(c);
}
