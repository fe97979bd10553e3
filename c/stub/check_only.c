/*
 * `ckpt-restore --check IMAGE` and `ckpt-restore --verify IMAGE`: the
 * restart's own verdict on an image, for `ckpt list` and `ckpt info
 * --verify`, so there is one authority on what is acceptable. It runs the
 * very checks a restart makes of the image, and dies with the very line a
 * restart would; silence and exit 0 mean a restart would accept it.
 *
 * Left out, on purpose: everything about restarting here and now rather
 * than about the image. Who owns the file and who could write it (the
 * caller may be inspecting another user's image), whether mapped and open
 * files are still there and unchanged, this machine's XSAVE layout and
 * vDSO, guard page, timer and lock support, login uid and groups, and
 * limits: a restart checks those itself, and they change without the
 * image changing. Nothing is set, created or torn down; only the image is
 * read.
 *
 * --check reads the header and tables, which is cheap (`ckpt list` runs it
 * on every image); it does not look for the older images an incremental
 * image reads from, which are files other than the image. --verify also reads every stored byte (memory, pipe
 * buffers, deleted files' and memfds' contents) and checks each checksum,
 * as a restart does while loading: in the same order, with the same words.
 * On a tree's root image, --check also judges the member table, and
 * --verify every member image beside it as well (tree_validate.c).
 */
#include <sys/mman.h>
#include "tree.h"
#include "../crc32c.h"
#include "../sys.h"

#define CHUNK (1u << 20)

/* CRC32C of `len` image bytes at `at`, read through `buf` (CHUNK bytes);
 * -1 if the file gave fewer than that (it changed since it was checked). */
static int64_t crc_of_range(int fd, uint64_t at, uint64_t len, char *buf)
{
	uint32_t crc = 0;
	for (uint64_t done = 0; done < len;) {
		uint64_t want = len - done > CHUNK ? CHUNK : len - done;
		long n = sys_pread(fd, buf, want, (long)(at + done));
		if (n <= 0)
			return -1;
		crc = crc32c_update(crc, buf, (uint64_t)n);
		done += (uint64_t)n;
	}
	return crc;
}

/* What fds.c calls a stored content when it refills one. */
static const char *stored_kind(uint32_t kind)
{
	switch (kind) {
	case CKPT_FD_FIFO:
		return "FIFO";
	case CKPT_FD_MEMFD:
		return "memfd";
	case CKPT_FD_DELETED:
		return "deleted file";
	default:
		return "pipe";
	}
}

static void check_stored(uint64_t at, uint64_t len, uint32_t crc, const char *what, char *buf)
{
	int64_t got = crc_of_range(restart.image_fd, at, len, buf);
	if (got < 0)
		die_path("cannot read from the image the contents of a", what, 0);
	if ((uint32_t)got != crc)
		die_path("checksum mismatch in the stored contents of a", what, 0);
}

/* Descriptors first, then memory: the order a restart reads them in. */
static void check_stored_data(const struct ckpt_header *h, const char *tables)
{
	/* CHUNK to read through; CKPT_COMPRESS_BLOCK more to inflate into */
	long m = sys_mmap(0, CHUNK + CKPT_COMPRESS_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		die("cannot allocate memory to read the image through", m);
	char *buf = (char *)m;
	const struct ckpt_fd *f = (const void *)(tables + h->fds_off);
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (f[i].pipe_len)
			check_stored(f[i].pipe_data_offset, f[i].pipe_len, f[i].pipe_crc, stored_kind(f[i].kind), buf);
		if (f[i].content_len)
			check_stored(f[i].content_offset, f[i].content_len, f[i].content_crc, stored_kind(f[i].kind), buf);
	}
	const struct ckpt_extent *e = (const void *)(tables + h->extents_off);
	if (extents_inflate(h, e))
		use_inflate_tls();
	struct inflate_scratch inflating = {0};
	for (uint32_t k = 0; k < h->nextents; k++) {
		if (!ckpt_extent_stored(e[k].kind))
			continue;
		if (ckpt_extent_compressed(&e[k])) { /* inflated as a restart would, into the second half */
			inflate_extent(&e[k], buf + CHUNK, &inflating);
			continue;
		}
		int64_t got = crc_of_range(extent_fd(&e[k]), e[k].data_offset, e[k].len, buf);
		if (got < 0)
			die_unreadable(&e[k], -5 /* EIO */);
		if ((uint32_t)got != e[k].crc)
			die("memory contents checksum mismatch (corrupt image)", 0);
	}
	release_inflate_scratch(&inflating);
	sys_munmap(buf, CHUNK + CKPT_COMPRESS_BLOCK);
}

/* A tree's member image, through the same checks as the root's, held to
 * the member table; refusals name it. */
static void check_member_image(const struct ckpt_header *root, const char *root_tables, const struct ckpt_member *m)
{
	static struct ckpt_header hdr;
	char *tables;
	load_member_image(root, root_tables, m, &hdr, &tables);
	check_timer_records(&hdr, tables);
	check_signal_records(&hdr, tables);
	/* Its PARENT extents read from its own older member files, not the root's. */
	int root_links[CKPT_LINKS_MAX];
	__builtin_memcpy(root_links, restart.link_fd, sizeof root_links);
	static char path[CKPT_PATH_MAX];
	member_image_path(m, root_tables + root->strings_off, path, sizeof path);
	open_chain(&hdr, 0, path);
	check_stored_data(&hdr, tables);
	for (uint32_t i = 0; i < hdr.nlinks; i++)
		sys_close(restart.link_fd[i]);
	__builtin_memcpy(restart.link_fd, root_links, sizeof root_links);
	sys_close(restart.image_fd);
	sys_munmap(tables, hdr.tables_size + 1);
}

__attribute__((noreturn)) void check_image_only(const char *path, int with_data)
{
	static struct ckpt_header hdr;
	char *tables;
	restart.check_only = 1;
	str_copy(restart.image, sizeof restart.image, path);
	load_and_validate(path, &hdr, &tables);
	check_timer_records(&hdr, tables);
	check_signal_records(&hdr, tables);
	check_member_table(&hdr, tables);
	if (with_data) {
		open_chain(&hdr, 0, 0); /* PARENT extents' bytes are in older images */
		check_stored_data(&hdr, tables);
		const struct ckpt_member *m = (const void *)(tables + hdr.members_off);
		for (uint32_t i = 0; i < hdr.nmembers; i++)
			if (m[i].kind == CKPT_MEMBER_LIVE)
				check_member_image(&hdr, tables, &m[i]);
	}
	sys_exit_group(0);
}
