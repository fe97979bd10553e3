/* What a checkpoint says on the program's stderr: before the capture when
 * stderr is a file, after it otherwise, and the background writer's line. */
#include "ckpt_lib.h"

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
	if (ok && stderr_is_regular_file())
		return;
	if (!ok) {
		line_str(&l, "ckpt: checkpoint failed: ");
		line_str(&l, c->error.buf);
		line_str(&l, "; the program continues");
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

/* The background writer's line: how long the program was paused, and how
 * long until the image was durable. */
void report_background(const struct capture *c, int ok, uint64_t size, uint64_t pause_ns, uint64_t started_ns)
{
	struct line l = {.len = 0};
	if (ok && stderr_is_regular_file())
		return;
	if (!ok) {
		report_checkpoint(c, 0, 0, 0, 1);
		return;
	}
	written_to(&l, size);
	line_str(&l, "; program paused ");
	line_ms(&l, pause_ns);
	line_str(&l, ", durable after ");
	line_ms(&l, monotonic_ns() - started_ns);
	line_str(&l, "); continuing");
	say(&l);
}
