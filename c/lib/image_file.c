/*
 * The image file: created unnamed (O_TMPFILE, mode 0600) in the image's
 * directory, so a crash or SIGKILL mid-write leaves nothing behind; once
 * written and fsynced, linked under a fixed temporary name and renamed over
 * the final name: readers see the old image or the new one, never a part.
 * Filesystems without O_TMPFILE get a named temporary file instead; its
 * fixed name means a crash leaves at most one, replaced next time. With
 * --keep, the older images move aside just before that rename
 * (image_rotation.c), and member files of other checkpoints of a tree go
 * once it is done (tree_files.c).
 * A tree member's image (c->member_path) is linked straight under its
 * own name: a new one at each checkpoint, nothing to replace.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

int image_target_open(struct capture *c, struct image_target *t)
{
	const char *path = c->member_path ? c->member_path : ckpt_config.image_path;
	size_t n = str_len(path), slash = 0;
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			slash = i;
	str_copy(t->dir, slash + 1 < sizeof t->dir ? slash + 1 : sizeof t->dir, path);
	if (slash == 0)
		str_copy(t->dir, sizeof t->dir, "/");
	t->name = path + slash + 1;
	struct line tmp = {.len = 0};
	line_str(&tmp, ".");
	line_str(&tmp, t->name);
	line_str(&tmp, ".ckpt-tmp");
	str_copy(t->tmp_name, sizeof t->tmp_name, tmp.buf);
	t->dir_fd = sys_openat(AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (t->dir_fd < 0)
		return capture_fail_path(c, "cannot open the image directory ", t->dir, t->dir_fd);
	t->fd = sys_openat((int)t->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (t->fd == -EISDIR || t->fd == -EOPNOTSUPP || t->fd == -EINVAL) {
		t->named_tmp = 1;
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		t->fd = sys_openat((int)t->dir_fd, t->tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (t->fd < 0) {
		sys_close((int)t->dir_fd);
		return capture_fail_path(c, "cannot create the image in ", t->dir, t->fd);
	}
	t->member = c->member_path != 0;
	return 0;
}

static int commit_member(struct capture *c, struct image_target *t)
{
	long err;
	if (t->named_tmp) {
		err = sys_renameat((int)t->dir_fd, t->tmp_name, (int)t->dir_fd, t->name);
	} else {
		struct line proc = self_fd_path((int)t->fd);
		err = sys_linkat(AT_FDCWD, proc.buf, (int)t->dir_fd, t->name, AT_SYMLINK_FOLLOW);
	}
	if (err < 0)
		return capture_fail_path(c, "cannot link the member image ", c->member_path, err);
	sys_fsync((int)t->dir_fd);
	return 0;
}

/* After a failed write: nothing is left under any name. */
void image_target_abandon(struct image_target *t)
{
	sys_close((int)t->fd);
	if (t->named_tmp)
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
	sys_close((int)t->dir_fd);
}

int image_target_commit(struct capture *c, struct image_target *t)
{
	if (t->member)
		return commit_member(c, t);
	long err;
	if (!t->named_tmp) {
		struct line proc = self_fd_path((int)t->fd);
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		err = sys_linkat(AT_FDCWD, proc.buf, (int)t->dir_fd, t->tmp_name, AT_SYMLINK_FOLLOW);
		if (err < 0)
			return capture_fail_path(c, "cannot link the image into ", t->dir, err);
	}
	if (keep_older_images(c, t)) {
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		return -1;
	}
	err = sys_renameat((int)t->dir_fd, t->tmp_name, (int)t->dir_fd, t->name);
	if (err < 0) {
		sys_unlinkat((int)t->dir_fd, t->tmp_name, 0);
		return capture_fail_path(c, "cannot rename the image to ", ckpt_config.image_path, err);
	}
	sys_fsync((int)t->dir_fd); /* the new name is durable too */
	drop_surplus_images(t);
	uint64_t kept[CKPT_KEEP_MAX];
	drop_unkept_member_files((int)t->dir_fd, t->name, kept, kept_tree_ids(t, kept));
	return 0;
}
