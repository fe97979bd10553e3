/*
 * The scratch mapping: one private anonymous reservation per checkpoint that
 * holds the tables being built. MAP_NORESERVE and lazily touched, so its
 * size is an upper bound, not a cost. It is left out of the image by
 * address, and unmapped when the checkpoint ends.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "ckpt_lib.h"
#include "early_copy.h"
#include "early_protect.h"
#include "shared_writer.h" /* SHARED_WRITER_AREA */
#include "smaps_walk.h"
#include "../sys.h"

#define MiB (1ull << 20)

static char *carve(char **p, uint64_t bytes)
{
	char *r = *p;
	*p += (bytes + 4095) & ~4095ull;
	return r;
}

/* A non-dumpable process (PR_SET_DUMPABLE 0, or one that changed its
 * ids) has its /proc/self files owned by root: as another user it could
 * not open its own pagemap, mem, fd/ or environ. It is dumpable while the
 * checkpoint looks at it, and as it was again once done; the image records
 * the program's value. (2, "suidsafe", comes only from an id change and
 * could not be set back: left as it is.) This opens nothing to its own
 * user that the image, its user's file, does not hold anyway. */
static void lift_dumpable(struct capture *c)
{
	c->dumpable = (uint32_t)sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	c->dumpable_lifted = c->dumpable == 0 && sys_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0;
}

int scratch_open(struct capture *c)
{
	lift_dumpable(c);
	const uint64_t header = CKPT_HEADER_SIZE, threads = 1 * MiB, tids = 64 * 1024, regions = 8 * MiB,
		       extents = 64 * MiB, fds = 1 * MiB, timers = 1 * MiB, signals = 1 * MiB, locks = 1 * MiB, watches = 1 * MiB, inotify = 1 * MiB,
		       strings = 8 * MiB, members = CKPT_MAX_MEMBERS * sizeof(struct ckpt_member),
		       pipes = 8 * MiB + 4 * CKPT_CONTENT_MAX, /* and deleted files' and memfds' bytes */
		       text = 16 * MiB, bounce = 256 * MiB, srcs = 16 * MiB, early = EARLY_TABLE_BYTES + EARLY_SUMS_BYTES, writer = WRITER_AREA, shared = SHARED_WRITER_AREA,
		       smaps = SMAPS_WALK_AREA, compress = compressed_stream_area(), stale = EARLY_STALE_BYTES;
	uint64_t total = header + threads + tids + regions + extents + fds + timers + signals + locks + watches + inotify + strings + members + pipes + text + bounce +
			 srcs + early +
			 writer + shared + smaps + compress + stale;
	long m = sys_mmap(0, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m < 0)
		return capture_fail(c, "cannot map scratch memory", m);
	char *p = (char *)m;
	c->scratch = p;
	c->scratch_len = total;
	c->hdr = (struct ckpt_header *)carve(&p, header);
	c->threads = (struct ckpt_thread *)carve(&p, threads);
	c->max_threads = threads / sizeof(struct ckpt_thread);
	c->tids = (int32_t *)carve(&p, tids);
	if (c->max_threads > tids / sizeof(int32_t))
		c->max_threads = tids / sizeof(int32_t);
	c->regions = (struct ckpt_region *)carve(&p, regions);
	c->max_regions = regions / sizeof(struct ckpt_region);
	c->extents = (struct ckpt_extent *)carve(&p, extents);
	c->max_extents = extents / sizeof(struct ckpt_extent);
	c->fds = (struct ckpt_fd *)carve(&p, fds);
	c->max_fds = fds / sizeof(struct ckpt_fd);
	c->timers = (struct ckpt_timer *)carve(&p, timers);
	c->max_timers = timers / sizeof(struct ckpt_timer);
	c->signals = (struct ckpt_signal *)carve(&p, signals);
	c->max_signals = signals / sizeof(struct ckpt_signal);
	c->locks = (struct ckpt_lock *)carve(&p, locks);
	c->max_locks = locks / sizeof(struct ckpt_lock);
	c->watches = (struct ckpt_epoll_watch *)carve(&p, watches);
	c->max_watches = watches / sizeof(struct ckpt_epoll_watch);
	c->inotify = (struct ckpt_inotify_watch *)carve(&p, inotify);
	c->max_inotify = inotify / sizeof(struct ckpt_inotify_watch);
	c->members = (struct ckpt_member *)carve(&p, members);
	c->tree_fd = -1;
	c->strings = carve(&p, strings);
	c->strings_cap = strings;
	c->strings_size = 1; /* offset 0 is the empty string */
	c->pipe_data = carve(&p, pipes);
	c->pipe_data_cap = pipes;
	c->text = carve(&p, text);
	c->bounce = carve(&p, bounce);
	c->bounce_cap = bounce;
	c->extent_src = (uint64_t *)carve(&p, srcs);
	if (c->max_extents > srcs / sizeof(uint64_t))
		c->max_extents = srcs / sizeof(uint64_t);
	c->writer_area = carve(&p, writer);
	c->shared_area = carve(&p, shared);
	c->smaps = smaps_walk_place(carve(&p, smaps));
	c->compress_area = carve(&p, compress);
	c->stale = (struct page_region *)carve(&p, stale);
	/* Last: early_protect.c moves its tables here whole (mremap), and a
	 * mapping moved into the middle of scratch made the next walk of
	 * smaps 4-5 ms slower here; at either end it costs nothing. */
	c->early = (struct page_region *)carve(&p, EARLY_TABLE_BYTES);
	c->early_sum_runs = (struct page_region *)carve(&p, EARLY_SUM_RUNS_BYTES);
	c->early_sums = (uint32_t *)carve(&p, EARLY_SUMS_BYTES - EARLY_SUM_RUNS_BYTES);
	c->hdr->codec = ckpt_config.compress ? CKPT_CODEC_LZ4 : CKPT_CODEC_NONE;
	c->text_cap = text;
	c->pipe_scratch[0] = c->pipe_scratch[1] = -1;
	return 0;
}

void scratch_close(struct capture *c)
{
	if (c->dumpable_lifted)
		sys_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	c->dumpable_lifted = 0;
	close_unreadable(c);
	/* Set only once scratch is mapped: before that they are 0, the program's stdin and stdout. */
	if (c->scratch && c->pipe_scratch[0] >= 0)
		sys_close(c->pipe_scratch[0]), sys_close(c->pipe_scratch[1]);
	if (c->scratch)
		smaps_walk_end(c->smaps); /* its worker's stack is there */
	if (c->scratch && !c->scratch_handed) /* a writer beside the program unmaps it (shared_writer.c) */
		sys_munmap(c->scratch, c->scratch_len);
	c->scratch = 0;
}

uint32_t capture_string(struct capture *c, const char *s, size_t len)
{
	if (c->strings_size + len + 1 > c->strings_cap)
		return 0; /* degrade to "" rather than fail: strings are for display and paths */
	uint32_t at = c->strings_size;
	for (size_t i = 0; i < len; i++)
		c->strings[at + i] = s[i];
	c->strings[at + len] = 0;
	c->strings_size += (uint32_t)len + 1;
	return at;
}

int capture_fail(struct capture *c, const char *what, long err)
{
	c->error.len = 0;
	line_str(&c->error, what);
	if (err) {
		line_str(&c->error, ": ");
		line_str(&c->error, errno_text(err));
	}
	return -1;
}

/* "<what><path>: <errno text>" */
int capture_fail_path(struct capture *c, const char *what, const char *path, long err)
{
	c->error.len = 0;
	line_str(&c->error, what);
	line_str(&c->error, path);
	line_str(&c->error, ": ");
	line_str(&c->error, errno_text(err));
	return -1;
}

long read_proc_file(struct capture *c, const char *path)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	uint64_t len = 0;
	for (;;) {
		long n = sys_read((int)fd, c->text + len, c->text_cap - 1 - len);
		if (n < 0) {
			sys_close((int)fd);
			return n;
		}
		if (n == 0 || len + (uint64_t)n >= c->text_cap - 1) {
			len += (uint64_t)(n > 0 ? n : 0);
			break;
		}
		len += (uint64_t)n;
	}
	sys_close((int)fd);
	c->text[len] = 0;
	return (long)len;
}
