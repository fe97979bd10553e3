/*
 * The older images an incremental image reads from (its header's links),
 * found and checked in phase 1, before anything is torn down.
 *
 * Kept images move from name to name (NAME, NAME.1, NAME.2...: the
 * libckpt side's image_rotation.c), so a link names its image by content
 * (its unique image_id, size and header checksum), and every numbered name
 * next to the image is a candidate: NAME.1 to NAME.CKPT_KEEP_MAX for the
 * image's own name and, when that is itself numbered (a restart from
 * NAME.3), for the name without the number. A candidate is taken when its
 * header is intact and says that id, its size and header checksum are the
 * link's, and its tables are intact. A link no candidate holds refuses the
 * restart, naming it; one whose id is found in a file that differs is
 * named as altered. The bytes PARENT extents read are checked against
 * their own checksums while they load, as the image's own are (a part of
 * a compressed block: the block's stored bytes before inflating, then the
 * part's own, inflate.c).
 *
 * A tree member's older images are its own member files of earlier
 * checkpoints of the tree: "<NAME>.<tree id>.<pid>" beside its file, for
 * the same pid and any tree id, judged the same way. A restart checks
 * every process's chain before anything is made (validate_tree), and
 * each process opens its own again in phase 1.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../crc32c.h"
#include "../sys.h"

enum candidate { NO_FILE, OTHER_IMAGE, ALTERED, MATCHES };

/* An older image's tables are only checked, never used (the image's own
 * PARENT extents say where to read), so they stream through a small buffer
 * rather than a copy of their own: ten links' tables are 15-20 MiB for a
 * 1 GiB heap, and each fresh page costs a fault, about 14 us in this VM:
 * reading them whole was 50-60 ms of a chain's restart (docs/performance.md). */
#define TABLE_CHUNK (128u << 10)

static int tables_intact(int fd, const struct ckpt_header *h)
{
	if (h->tables_size > (1ull << 30))
		return 0;
	long m = sys_mmap(0, TABLE_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return 0;
	populate_for_writing((void *)m, TABLE_CHUNK);
	uint32_t crc = 0;
	int ok = 1;
	for (uint64_t at = 0; ok && at < h->tables_size; at += TABLE_CHUNK) {
		uint64_t n = h->tables_size - at < TABLE_CHUNK ? h->tables_size - at : TABLE_CHUNK;
		ok = sys_pread_full(fd, (void *)m, n, (long)(h->tables_offset + at)) >= 0;
		crc = crc32c_update(crc, (const void *)m, n);
	}
	sys_munmap((void *)m, TABLE_CHUNK);
	return ok && crc == h->tables_crc;
}

static enum candidate judge(int fd, const struct ckpt_link *l)
{
	static char page[CKPT_HEADER_SIZE];
	struct stat st;
	if (sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || sys_pread_full(fd, page, CKPT_HEADER_SIZE, 0) < 0)
		return OTHER_IMAGE;
	struct ckpt_header *h = (struct ckpt_header *)page;
	if (__builtin_memcmp(h->magic, CKPT_MAGIC, 8) || h->version != CKPT_VERSION || h->image_id != l->image_id)
		return OTHER_IMAGE;
	uint32_t want = h->header_crc;
	h->header_crc = 0;
	int intact = crc32c_update(0, page, CKPT_HEADER_SIZE) == want;
	h->header_crc = want;
	if (!intact || want != l->header_crc || (uint64_t)st.st_size != l->file_size || h->file_size != l->file_size ||
	    !tables_intact(fd, h))
		return ALTERED;
	/* Bytes of others' images become our code: the same rule as the image's. */
	if (!restart.check_only && (st.st_uid != (unsigned)sys_getuid() || (st.st_mode & 022)))
		return ALTERED;
	return MATCHES;
}

__attribute__((noreturn)) static void refuse_link(uint32_t i, const struct ckpt_header *h, const char *altered,
						   const char *member)
{
	struct line l = {.len = 0};
	line_str(&l, "the chain of incremental images is broken: ");
	if (altered) {
		line_str(&l, altered);
		line_str(&l, ", older image ");
	} else {
		line_str(&l, "older image ");
	}
	line_u64(&l, i + 1);
	line_str(&l, " of ");
	line_u64(&l, h->nlinks);
	line_str(&l, " it reads from (");
	line_u64(&l, h->links[i].file_size);
	line_str(&l, altered ? " bytes), was altered or replaced"
			     : member ? " bytes) is missing: no " : " bytes) is missing: no file next to it named ");
	if (!altered && member) {
		line_str(&l, member);
		line_str(&l, " beside it holds it; restart an older full image, or keep the chain together");
	} else if (!altered) {
		line_str(&l, restart.image);
		line_str(&l, ".N holds it; restart an older full image, or keep the chain together");
	}
	die_line(&l);
}

/* `base`.n for n = 1.. into `path`; the numbered name's length. */
static void numbered(char *path, uint64_t cap, const char *base, uint64_t base_len, uint32_t n)
{
	struct line number = {.len = 0};
	line_str(&number, ".");
	line_u64(&number, n);
	if (base_len + number.len + 1 > cap)
		base_len = 0; /* cannot be: the path fit CKPT_PATH_MAX */
	__builtin_memcpy(path, base, base_len);
	str_copy(path + base_len, cap - base_len, number.buf);
}

/* The image's name without a trailing ".N", or its whole length. */
static uint64_t unnumbered_len(const char *image)
{
	uint64_t n = str_len(image), i = n;
	while (i > 0 && image[i - 1] >= '0' && image[i - 1] <= '9')
		i--;
	return i < n && i > 1 && image[i - 1] == '.' ? i - 1 : n;
}

/* Opens `path` as a candidate for link i: its fd when it is the image the
 * link names, else -1, noting in `altered` (`cap` bytes) one that has the
 * name but not the content. */
static long try_candidate(uint32_t i, const struct ckpt_header *h, const char *path, char *altered, uint64_t cap)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	enum candidate got = judge((int)fd, &h->links[i]);
	if (got == MATCHES)
		return fd;
	if (got == ALTERED)
		str_copy(altered, cap, path);
	sys_close((int)fd);
	return -1;
}

static long find_link(uint32_t i, const struct ckpt_header *h)
{
	static char path[CKPT_PATH_MAX + 16], altered[CKPT_PATH_MAX + 16];
	altered[0] = 0;
	uint64_t lens[2] = {str_len(restart.image), unnumbered_len(restart.image)};
	for (int b = 0; b < 2; b++) {
		if (b == 1 && lens[1] == lens[0])
			break;
		for (uint32_t n = 1; n <= CKPT_KEEP_MAX; n++) {
			numbered(path, sizeof path, restart.image, lens[b], n);
			long fd = try_candidate(i, h, path, altered, sizeof altered);
			if (fd >= 0)
				return fd;
		}
	}
	refuse_link(i, h, altered[0] ? altered : 0, 0);
}

/* The length of a member file name's part before ".<16 hex>.<pid>", or 0
 * if `name` does not end so for `pid`. */
static uint64_t member_prefix_len(const char *name, int32_t pid)
{
	struct line tail = {.len = 0};
	line_str(&tail, ".");
	line_u64(&tail, (uint64_t)pid);
	uint64_t n = str_len(name), id = 1 + 16;
	if (n < tail.len + id + 1 || !str_eq(name + n - tail.len, tail.buf))
		return 0;
	uint64_t at = n - tail.len - id;
	if (name[at] != '.')
		return 0;
	for (uint64_t k = at + 1; k < at + id; k++)
		if (!((name[k] >= '0' && name[k] <= '9') || (name[k] >= 'a' && name[k] <= 'f')))
			return 0;
	return at;
}

/* A tree member's link: its older images are member files of the same
 * pid from earlier checkpoints of the tree ("<NAME>.<tree id>.<pid>",
 * any tree id), beside its own file `member` (a path). */
static long find_member_link(uint32_t i, const struct ckpt_header *h, const char *member)
{
	static char dir[CKPT_PATH_MAX], path[CKPT_PATH_MAX], altered[CKPT_PATH_MAX], pattern[CKPT_PATH_MAX];
	uint64_t slash = 0;
	for (uint64_t k = 0; member[k]; k++)
		if (member[k] == '/')
			slash = k + 1;
	str_copy(dir, slash + 1 < sizeof dir ? slash + 1 : sizeof dir, member);
	const char *own = member + slash;
	uint64_t prefix = member_prefix_len(own, h->pid);
	altered[0] = 0;
	long d = prefix ? sys_openat(AT_FDCWD, slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) : -1;
	static char buf[4096];
	long n;
	while (d >= 0 && (n = sys_getdents64((int)d, buf, sizeof buf)) > 0)
		for (long at = 0; at < n;) {
			const struct dirent64_raw *e = (const void *)(buf + at);
			at += e->reclen;
			if (member_prefix_len(e->name, h->pid) != prefix || __builtin_memcmp(e->name, own, prefix) ||
			    str_eq(e->name, own))
				continue;
			str_copy(path, sizeof path, dir);
			str_copy(path + slash, sizeof path - slash, e->name);
			long fd = try_candidate(i, h, path, altered, sizeof altered);
			if (fd >= 0) {
				sys_close((int)d);
				return fd;
			}
		}
	if (d >= 0)
		sys_close((int)d);
	struct line l = {.len = 0};
	line_str(&l, "member file ");
	for (uint64_t k = 0; k < prefix && l.len + 1 < sizeof l.buf; k++)
		l.buf[l.len++] = own[k];
	l.buf[l.len] = 0;
	line_str(&l, ".<tree id>.");
	line_u64(&l, (uint64_t)h->pid);
	str_copy(pattern, sizeof pattern, l.buf);
	refuse_link(i, h, altered[0] ? altered : 0, pattern);
}

void check_chain(const struct ckpt_header *h, const char *member)
{
	for (uint32_t i = 0; i < h->nlinks; i++)
		sys_close((int)(member ? find_member_link(i, h, member) : find_link(i, h)));
}

void open_chain(const struct ckpt_header *h, int place_high, const char *member)
{
	for (uint32_t i = 0; i < h->nlinks; i++) {
		long fd = member ? find_member_link(i, h, member) : find_link(i, h);
		restart.link_fd[i] = place_high ? to_high(fd, "cannot keep an older image of the chain open", restart.image)
						: (int)fd;
	}
}
