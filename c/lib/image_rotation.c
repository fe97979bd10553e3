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
 * by a rename over it, once its successor is complete, and never while a
 * kept incremental image still reads from it (names_to_keep).
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

/* How many images the kept image at `name` reads from (0: none, or not
 * an image of this version). */
static uint32_t links_of(int dir, const char *name)
{
	long fd = sys_openat(dir, name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct ckpt_header h;
	long n = sys_pread((int)fd, &h, sizeof h, 0);
	sys_close((int)fd);
	if (n != (long)sizeof h || !str_eq(h.magic, CKPT_MAGIC) || h.version != CKPT_VERSION || h.nlinks > CKPT_LINKS_MAX)
		return 0;
	return h.nlinks;
}

/* Incremental images read from the ones kept after them, which are always
 * the next numbers (each image's parent is the image path's image when it
 * is written, NAME.1 once it is committed). So the names kept are the
 * newest --keep, plus every number one of those still reads from: an
 * image is dropped only once nothing kept refers to it. */
static uint32_t names_to_keep(const struct capture *c, const struct image_target *t)
{
	uint32_t keep = ckpt_config.keep ? ckpt_config.keep : 1;
	uint32_t last = c->hdr->nlinks; /* the new image, at 0, reads from 1..nlinks */
	struct line name;
	for (uint32_t p = 1; p < keep; p++) {
		if (p == 1)
			name.len = 0, line_str(&name, t->name);
		else
			numbered(t, p - 1, &name);
		uint32_t reach = p + links_of((int)t->dir_fd, name.buf);
		if (reach > last)
			last = reach;
	}
	if (last + 1 > keep)
		keep = last + 1;
	return keep > CKPT_KEEP_MAX ? CKPT_KEEP_MAX : keep;
}

int keep_older_images(struct capture *c, struct image_target *t)
{
	uint32_t keep = t->keep = names_to_keep(c, t);
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

/* After the commit: numbers at or beyond what is kept, left by a run that
 * kept more or by a chain now ended. Without --keep only the numbers a
 * chain can have used are touched. */
void drop_surplus_images(const struct image_target *t)
{
	uint32_t last = ckpt_config.keep ? CKPT_KEEP_MAX : CKPT_CHAIN_MAX;
	struct line name;
	for (uint32_t n = t->keep > 1 || ckpt_config.keep ? t->keep : CKPT_KEEP_MAX + 1; n <= last; n++) {
		numbered(t, n, &name);
		sys_unlinkat((int)t->dir_fd, name.buf, 0);
	}
}
