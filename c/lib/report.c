/* What a checkpoint says on the program's stderr: before the capture when
 * stderr is a file, after it otherwise, and the background writer's line.
 * Periodic checkpoints (--interval) say only failures: a line each period
 * would bury the program's own output. */
#include "ckpt_lib.h"
#include "early_protect.h"
#include "../crc32c.h"

/* The last periodic failure reported, by failure_kind(), 0 after a
 * success: a program that keeps a socket open would otherwise get the same
 * line every period. */
static uint32_t last_periodic_failure;

/* A failure's text without its digits, as a CRC (never 0): the same
 * failure with another pid or fd number (a shell's next child) is no news. */
static uint32_t failure_kind(const struct line *why)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < why->len; i++)
		if (why->buf[i] < '0' || why->buf[i] > '9')
			crc = crc32c_update_1way(crc, why->buf + i, 1);
	return crc | 1;
}

void report_capture_handed_over(const struct capture *c)
{
	if (c->periodic)
		last_periodic_failure = 0;
}

/* "ckpt: [periodic ]checkpoint failed: WHY; the program continues[...]" */
static void failed(struct line *l, const struct capture *c, const char *then)
{
	line_str(l, c->periodic ? "ckpt: periodic checkpoint failed: " : "ckpt: checkpoint failed: ");
	line_str(l, c->error.buf);
	line_str(l, "; the program continues");
	line_str(l, then);
}

/* A line written to a file on fd 2 after the file's offset is captured
 * would be overwritten, or left half-overwritten, by the program's own
 * output after a restart. So when stderr is a regular file, the line comes
 * before the capture, and only failures are reported after it. */
void announce_if_stderr_is_a_file(void)
{
	if (!stderr_is_regular_file())
		return;
	struct line l = {.len = 0};
	line_str(&l, "ckpt: taking a checkpoint into ");
	line_str(&l, ckpt_config.image_path);
	say(&l);
}

/* "ckpt: checkpoint written to PATH (SIZE", the start of both success lines. */
static void written_to(struct line *l, uint64_t size)
{
	line_str(l, "ckpt: checkpoint written to ");
	line_str(l, ckpt_config.image_path);
	line_str(l, " (");
	line_size(l, size);
}

/* The handler's line once a checkpoint is written or has failed. */
void report_checkpoint(const struct capture *c, int ok, uint64_t size, uint64_t ns, int keep_running)
{
	struct line l = {.len = 0};
	if (ok && c->periodic)
		last_periodic_failure = 0;
	if (ok && (stderr_is_regular_file() || c->periodic))
		return;
	if (!ok && c->periodic) {
		uint32_t kind = failure_kind(&c->error);
		if (kind == last_periodic_failure)
			return;
		last_periodic_failure = kind;
		failed(&l, c, ", and each period tries again (silently, while it fails the same way)");
	} else if (!ok) {
		failed(&l, c, "");
	} else {
		written_to(&l, size);
		line_str(&l, " in ");
		line_ms(&l, ns);
		line_str(&l, keep_running ? "); continuing" : "); stopping with exit status ");
		if (!keep_running)
			line_u64(&l, CKPT_EXIT_CHECKPOINTED);
	}
	say(&l);
}

/* Which pages a background image holds (dirty_tracking.c, incremental.c). */
static void pages_written(struct line *l, const struct capture *c)
{
	if (c->hdr->nlinks) {
		line_str(l, ", incremental: pages written since the last one");
		if (c->early_taken) { /* the helper's share (early_protect.c) */
			line_str(l, " (");
			line_u64(l, early_written_pages(c));
			line_str(l, " found while the program ran)");
		}
		line_str(l, ", the rest read from ");
		line_u64(l, c->hdr->nlinks);
		line_str(l, c->hdr->nlinks == 1 ? " older image" : " older images");
	} else if (c->hdr->tracking == CKPT_TRACKING_UNAVAILABLE) {
		line_str(l, ", every page: ");
		line_str(l, tracking_unavailable_reason());
	} else {
		line_str(l, ", every page");
	}
}

/* The background writer's line: how long the program was paused, and how
 * long until the image was durable. */
void report_background(const struct capture *c, int ok, uint64_t size, uint64_t pause_ns, uint64_t started_ns)
{
	struct line l = {.len = 0};
	if (ok && (stderr_is_regular_file() || c->periodic))
		return;
	if (!ok) {
		/* In the writer: the program's memory of past failures is not ours to update. */
		failed(&l, c, c->periodic ? ", and the next period tries again" : "");
		say(&l);
		return;
	}
	written_to(&l, size);
	pages_written(&l, c);
	line_str(&l, "; program paused ");
	line_ms(&l, pause_ns);
	line_str(&l, ", durable after ");
	line_ms(&l, monotonic_ns() - started_ns);
	line_str(&l, "); continuing");
	say(&l);
}

/* At the program's next checkpoint, a background writer that ended before
 * its image was complete: killed, since every other end is its own line
 * (background_writer.c, struct handoff). The image it would have replaced
 * was never touched: images are linked in whole or not at all. */
void report_writer_killed(const char *image, int writer, int periodic)
{
	struct line l = {.len = 0};
	line_str(&l, periodic ? "ckpt: periodic checkpoint failed: " : "ckpt: checkpoint failed: ");
	line_str(&l, "its writer (pid ");
	line_u64(&l, (uint64_t)writer);
	line_str(&l, ") was killed before the image was complete (SIGKILL, or the OOM killer); ");
	line_str(&l, image);
	line_str(&l, " is as it was before that checkpoint");
	line_str(&l, periodic ? "; the program continues, and the next period tries again" : "; the program continues");
	say(&l);
	if (periodic)
		last_periodic_failure = 0;
}
