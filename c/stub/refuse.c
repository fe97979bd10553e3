/* How the stub refuses: one line on the restart's stderr, then exit with
 * CKPT_EXIT_RESTART_REFUSED, from phase 1 or from the arena alike. */
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

/* Every refusal is one line naming the image: "ckpt: cannot restart IMAGE:
 * <why>", then the caller's note (run-or-restart's "not starting afresh"),
 * both kept in `restart` so phase 2, running from the arena, says the same. */
__attribute__((noreturn)) void die_line(const struct line *why)
{
	struct line l = {.len = 0};
	line_str(&l, "ckpt: cannot restart");
	line_str(&l, restart.image[0] ? " " : "");
	line_str(&l, restart.image);
	line_str(&l, ": ");
	line_str(&l, restart.context); /* which member image of a tree, while one is judged */
	line_str(&l, why->buf);
	if (restart.note[0]) {
		line_str(&l, " (");
		line_str(&l, restart.note);
		line_str(&l, ")");
	}
	line_str(&l, "\n");
	if (restart.tree_index) {
		/* A member hands its line to the root, which says only the first
		 * of several at once; in one write, so the pipe keeps it whole.
		 * If the root is gone (EPIPE) it has already said one, its own or
		 * another member's: a second line would break the one-line rule. */
		struct { struct tree_note n; char text[sizeof l.buf]; } failed = {{TREE_NOTE_FAILED, restart.tree_index, (uint32_t)l.len, 0}, {0}};
		__builtin_memcpy(failed.text, l.buf, l.len);
		sys_write(restart.tree_note_fd, &failed, sizeof failed.n + l.len);
		sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
	}
	sys_write(restart.err_fd, l.buf, l.len);
	sys_exit_group(CKPT_EXIT_RESTART_REFUSED);
}

__attribute__((noreturn)) void die_path(const char *what, const char *path, long err)
{
	struct line l = {.len = 0};
	line_str(&l, what);
	if (path) {
		line_str(&l, " ");
		line_str(&l, path);
	}
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

__attribute__((noreturn)) void die(const char *what, long err)
{
	die_path(what, 0, err);
}
