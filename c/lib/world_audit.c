/*
 * What the restart would find wrong with the world, found while the
 * program can still run on. The restart reopens files by the path
 * /proc/self/fd shows (fd_path_audit in c/kinds/fd_file.c checks those)
 * and changes into the working directory by the path getcwd gives; if
 * such a path does not lead to the very file or directory the program has
 * now (a directory deleted under it, a path shadowed by a mount), the
 * restart would fail, or worse, reopen another file. The per-kind rules
 * that need more than a path (deleted files, FIFOs' other ends, locks) are
 * checked where each kind is captured.
 * test/e2e/refusal-audit.test.ts lists every refusal the stub can make
 * about the world and which of these checks, if any, foresees it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

static int check_cwd(struct capture *c)
{
	char cwd[CKPT_PATH_MAX];
	long n = sys_getcwd(cwd, sizeof cwd);
	struct stat here;
	if (n <= 0 || sys_fstatat(AT_FDCWD, ".", &here, 0) < 0 || (cwd[0] == '/' && path_leads_to(cwd, &here)))
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
		switch (c->fds[i].kind) {
		case CKPT_FD_FILE:
		case CKPT_FD_FIFO: /* reopened by path as a file is */
			if (fd_path_audit(c, &c->fds[i]))
				return -1;
			break;
		default:
			break; /* their own rules were checked as each was captured */
		}
	return check_cwd(c);
}
