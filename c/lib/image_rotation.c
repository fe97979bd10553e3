/*
 * --keep N: the image path always holds the newest complete checkpoint,
 * NAME.1 the one before it, and so on up to NAME.(N-1). This file is the
 * one place that knows those names.
 *
 * Each step is one link or rename in the image's directory, and the new
 * image takes NAME last (image_file.c), so whatever stops the writer
 * midway (SIGKILL, power loss, a full disk) NAME is a complete image: the
 * old one until that rename, the new one after it. At worst an older image
 * is left under two names (NAME.1 a second link to NAME) or one number is
 * missing; the next commit puts both right. A kept image is dropped only
 * by a rename over it, once its successor is complete.
 */
#include <fcntl.h>
#include <errno.h>
#include "ckpt_lib.h"
#include "../sys.h"

/* NAME.n, a name in the image's directory. */
static void numbered(const struct image_target *t, uint32_t n, struct line *to)
{
	to->len = 0;
	line_str(to, t->name);
	line_str(to, ".");
	line_u64(to, n);
}

static int keep_fail(struct capture *c, const struct image_target *t, const char *name, long err)
{
	struct line path = {.len = 0};
	line_str(&path, t->dir);
	line_str(&path, str_ends(t->dir, "/") ? "" : "/");
	line_str(&path, name);
	return capture_fail_path(c, "cannot keep the older image (--keep) as ", path.buf, err);
}

int keep_older_images(struct capture *c, struct image_target *t)
{
	uint32_t keep = ckpt_config.keep;
	if (keep < 2)
		return 0;
	int dir = (int)t->dir_fd;
	struct line from, to;
	/* Oldest first, each over the next: NAME.(keep-2) -> NAME.(keep-1) ... NAME.1 -> NAME.2. */
	for (uint32_t n = keep - 1; n >= 2; n--) {
		numbered(t, n - 1, &from);
		numbered(t, n, &to);
		long err = sys_renameat(dir, from.buf, dir, to.buf);
		if (err < 0 && err != -ENOENT)
			return keep_fail(c, t, to.buf, err);
	}
	/* NAME -> NAME.1 without NAME ever missing: a second link, renamed into place. */
	struct line link = {.len = 0};
	line_str(&link, ".");
	line_str(&link, t->name);
	line_str(&link, ".ckpt-keep");
	sys_unlinkat(dir, link.buf, 0);
	long err = sys_linkat(dir, t->name, dir, link.buf, 0);
	if (err == -ENOENT)
		return 0; /* the first checkpoint: nothing older to keep */
	numbered(t, 1, &to);
	if (err == 0)
		err = sys_renameat(dir, link.buf, dir, to.buf);
	if (err < 0) {
		sys_unlinkat(dir, link.buf, 0);
		return keep_fail(c, t, to.buf, err);
	}
	return 0;
}

/* After the commit: numbers at or beyond --keep, left by a run that kept
 * more. Only when --keep was given: without it nothing else is touched. */
void drop_surplus_images(const struct image_target *t)
{
	uint32_t keep = ckpt_config.keep;
	struct line name;
	for (uint32_t n = keep ? keep : CKPT_KEEP_MAX + 1; n <= CKPT_KEEP_MAX; n++) {
		numbered(t, n, &name);
		sys_unlinkat((int)t->dir_fd, name.buf, 0);
	}
}
