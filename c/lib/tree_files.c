/*
 * Member image files beside the root's image: "<image file name>.<tree id
 * in 16 lower-case hex digits>.<pid>" (ckpt_format_tree.h). Each
 * checkpoint of a tree has a new tree id, so its files never overwrite
 * those of the checkpoints kept root images still name. Once the new root
 * image is linked (the commit), a member file goes when no kept root
 * image (NAME, NAME.1 ... under --keep) has its tree id and no kept member
 * file reads from it (an incremental member image's links, by image id:
 * its parent's tree may be older than every kept root); after a failure
 * the new ones go.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../sys.h"

void member_file_name(struct line *l, const char *image_name, uint64_t tree_id, int pid)
{
	static const char hex[] = "0123456789abcdef";
	char id[17];
	for (int i = 0; i < 16; i++)
		id[i] = hex[(tree_id >> (60 - 4 * i)) & 15];
	id[16] = 0;
	line_str(l, image_name);
	line_str(l, CKPT_MEMBER_FILE_SEPARATOR);
	line_str(l, id);
	line_str(l, CKPT_MEMBER_FILE_SEPARATOR);
	line_u64(l, (uint64_t)pid);
}

/* The tree id of a member file of `image_name`, or 0 if `name` is not one. */
static uint64_t member_file_tree_id(const char *name, const char *image_name)
{
	size_t n = str_len(image_name), sep = str_len(CKPT_MEMBER_FILE_SEPARATOR);
	if (!str_starts(name, image_name) || !str_starts(name + n, CKPT_MEMBER_FILE_SEPARATOR))
		return 0;
	const char *p = name + n + sep;
	uint64_t id = 0;
	for (int i = 0; i < 16; i++, p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		id = id << 4 | (uint64_t)d;
	}
	if (!str_starts(p, CKPT_MEMBER_FILE_SEPARATOR))
		return 0;
	p += sep;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p ? 0 : id;
}

static int listed(const uint64_t *ids, uint32_t n, uint64_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* Images kept member files read from (their links), at most this many
 * ids: past it nothing outside the kept trees is removed, which only
 * leaves files for the next commit to judge. */
#define NEEDED_MAX 4096
static uint64_t needed_ids[NEEDED_MAX];

/* Over every member file of `image_name` in the directory: first (drop 0)
 * the ids the kept trees' member files read from, into needed_ids; then
 * (drop 1) each file of another tree none of those is removed. */
static void scan_member_files(int dir_fd, const char *image_name, const uint64_t *kept, uint32_t nkept,
			      uint32_t *nneeded, int drop)
{
	long dir = sys_openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dir < 0)
		return;
	char buf[4096];
	long n;
	struct ckpt_header h;
	while ((n = sys_getdents64((int)dir, buf, sizeof buf)) > 0)
		for (long at = 0; at < n;) {
			const struct dirent64_raw *d = (const void *)(buf + at);
			at += d->reclen;
			uint64_t id = member_file_tree_id(d->name, image_name);
			if (!id)
				continue;
			int kept_tree = listed(kept, nkept, id);
			if (!drop && kept_tree && !image_header_at(dir_fd, d->name, &h)) {
				for (uint32_t i = 0; i < h.nlinks; i++) {
					if (*nneeded >= NEEDED_MAX) {
						*nneeded = NEEDED_MAX + 1; /* too many to judge: drop nothing read from */
						break;
					}
					needed_ids[(*nneeded)++] = h.links[i].image_id;
				}
			}
			if (!drop || kept_tree)
				continue;
			int read_from = *nneeded > NEEDED_MAX ||
					(!image_header_at(dir_fd, d->name, &h) && listed(needed_ids, *nneeded, h.image_id));
			if (!read_from)
				sys_unlinkat(dir_fd, d->name, 0);
		}
	sys_close((int)dir);
}

void drop_unkept_member_files(int dir_fd, const char *image_name, const uint64_t *kept, uint32_t nkept)
{
	uint32_t nneeded = 0;
	scan_member_files(dir_fd, image_name, kept, nkept, &nneeded, 0);
	scan_member_files(dir_fd, image_name, kept, nkept, &nneeded, 1);
}

void drop_captured_member_files(const struct capture *c)
{
	for (uint32_t i = 0; i < c->hdr->nmembers; i++) {
		if (c->members[i].kind != CKPT_MEMBER_LIVE)
			continue;
		struct line path = {.len = 0};
		member_file_name(&path, ckpt_config.image_path, c->hdr->tree_id, c->members[i].pid);
		sys_unlinkat(AT_FDCWD, path.buf, 0);
	}
}

void drop_member_files(struct tree_control *t)
{
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct tree_slot *s = tree_slot_at(t, i);
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_WRITTEN)
			continue;
		struct line path = {.len = 0};
		member_file_name(&path, t->image_path, t->tree_id, s->pid);
		sys_unlinkat(AT_FDCWD, path.buf, 0);
	}
}
