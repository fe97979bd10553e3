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

int image_header_at(int dir, const char *name, struct ckpt_header *h)
{
	long fd = sys_openat(dir, name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	long n = sys_pread((int)fd, h, sizeof *h, 0);
	sys_close((int)fd);
	return n == (long)sizeof *h && str_eq(h->magic, CKPT_MAGIC) && h->version == CKPT_VERSION &&
			       h->nlinks <= CKPT_LINKS_MAX ? 0 : -1;
}

/* NAME for 0, else NAME.n. */
static void kept_name(const struct image_target *t, uint32_t n, struct line *to)
{
	if (n)
		numbered(t, n, to);
	else
		to->len = 0, line_str(to, t->name);
}

static int needed(const uint64_t *ids, uint32_t n, uint64_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* The lowest number with no file: the kept images below it move up one,
 * into it; those above stay where they are (a writer killed midway left
 * it, or a chain ended). */
static uint32_t first_gap(const struct image_target *t)
{
	struct line name;
	for (uint32_t n = 1; n < CKPT_KEEP_MAX; n++) {
		numbered(t, n, &name);
		long fd = sys_openat((int)t->dir_fd, name.buf, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return n;
		sys_close((int)fd);
	}
	return CKPT_KEEP_MAX;
}

/* Incremental images read from older ones (c/lib/incremental.c), found at
 * restart by content under any number. So the names kept are the newest
 * --keep, plus every number up to the last that holds an image one of
 * those (or the new one) reads from: an image is dropped only once nothing
 * kept refers to it. Judged by the ids in the files, wherever they are. */
static uint32_t names_to_keep(const struct capture *c, const struct image_target *t, uint32_t gap)
{
	uint32_t keep = ckpt_config.keep ? ckpt_config.keep : 1;
	static uint64_t ids[CKPT_KEEP_MAX * CKPT_LINKS_MAX + CKPT_LINKS_MAX];
	uint32_t nids = 0;
	for (uint32_t i = 0; i < c->hdr->nlinks; i++)
		ids[nids++] = c->hdr->links[i].image_id;
	struct line name;
	struct ckpt_header h;
	for (uint32_t n = 0; n < CKPT_KEEP_MAX; n++) {
		uint32_t after = n < gap ? n + 1 : n; /* its number once the new image is in */
		kept_name(t, n, &name);
		if (image_header_at((int)t->dir_fd, name.buf, &h))
			continue;
		if (after >= keep && needed(ids, nids, h.image_id))
			keep = after + 1;
		if (after < keep) /* kept: what it reads from is needed too */
			for (uint32_t i = 0; i < h.nlinks && nids < sizeof ids / sizeof ids[0]; i++)
				ids[nids++] = h.links[i].image_id;
	}
	return keep > CKPT_KEEP_MAX ? CKPT_KEEP_MAX : keep;
}

int keep_older_images(struct capture *c, struct image_target *t)
{
	uint32_t gap = first_gap(t);
	uint32_t keep = t->keep = names_to_keep(c, t, gap);
	if (keep < 2)
		return 0;
	int dir = (int)t->dir_fd;
	struct line from, to;
	/* Oldest first, each over the next: NAME.(keep-2) -> NAME.(keep-1) ... NAME.1 -> NAME.2,
	 * or from the first missing number down. */
	for (uint32_t n = gap < keep - 1 ? gap : keep - 1; n >= 2; n--) {
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

uint32_t kept_tree_ids(const struct image_target *t, uint64_t *ids)
{
	uint32_t n = 0;
	struct line name;
	struct ckpt_header h;
	for (uint32_t k = 0; k < (t->keep ? t->keep : 1) && k < CKPT_KEEP_MAX; k++) {
		kept_name(t, k, &name);
		if (!image_header_at((int)t->dir_fd, name.buf, &h) && h.tree_id && !needed(ids, n, h.tree_id))
			ids[n++] = h.tree_id;
	}
	return n;
}

/* After the commit: numbers at or beyond what is kept, left by a run that
 * kept more or by a chain now ended. Without --keep, only while a chain
 * is kept, and only images of this version a chain can have left. */
void drop_surplus_images(const struct image_target *t)
{
	struct line name;
	struct ckpt_header h;
	uint32_t last = ckpt_config.keep ? CKPT_KEEP_MAX : t->keep > 1 ? CKPT_CHAIN_MAX : 0;
	for (uint32_t n = t->keep; n <= last; n++) {
		numbered(t, n, &name);
		if (ckpt_config.keep || !image_header_at((int)t->dir_fd, name.buf, &h))
			sys_unlinkat((int)t->dir_fd, name.buf, 0);
	}
}
