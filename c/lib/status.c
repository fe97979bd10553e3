/*
 * A status line other processes can read: `ckpt checkpoint PID` and the
 * interactive mode find ckpt-managed processes, their image path and when a
 * checkpoint is complete through /proc/PID/environ, readable by the same
 * user without ptrace rights.
 *
 * The launcher passes CKPT_STATUS=<CKPT_STATUS_LEN spaces>. Its text lives
 * in the process's initial environment block, which is part of its memory,
 * so it survives a restart at the same address; libckpt removes the
 * variable from `environ` (children do not inherit it) and rewrites the
 * text in place, always to the same length:
 *   "seq=N state=S count=C image=PATH\nmessage=TEXT\nend=N" padded with spaces
 * S is running, writing, written, stopped or failed; C counts completed
 * checkpoints. TEXT is the failure, the background writer, or else a
 * standing "warning: ..." about the program's use of the trigger. A reader that sees seq != end caught a rewrite midway and
 * reads again.
 */
#include <stdlib.h>
#include "ckpt_lib.h"

static char *block;
static size_t block_len;
static uint64_t seq, count;
/* A standing warning (the program took the trigger signal), shown as the
 * message whenever there is no other: a full-screen program hides what we
 * print on stderr, and `ckpt checkpoint` repeats what it reads here. */
static char note[512];

static char last_state[16], last_message[512];
static void render(void);

void status_note(const char *text)
{
	str_copy(note, sizeof note, text);
	render();
}

void status_init(void)
{
	char *v = getenv("CKPT_STATUS");
	if (!v)
		return;
	block = v;
	block_len = str_len(v);
	unsetenv("CKPT_STATUS");
	status_set("running", "");
}

static size_t put(size_t at, const char *s)
{
	while (*s && at < block_len)
		block[at++] = *s++;
	return at;
}

static size_t put_u64(size_t at, uint64_t v)
{
	struct line l = {.len = 0};
	line_u64(&l, v);
	return put(at, l.buf);
}

void status_set(const char *state, const char *message)
{
	if (!block)
		return;
	if (str_eq(state, "written") || str_eq(state, "stopped"))
		count++;
	str_copy(last_state, sizeof last_state, state);
	str_copy(last_message, sizeof last_message, message);
	render();
}

static void render(void)
{
	if (!block)
		return;
	const char *state = last_state, *message = last_message;
	seq++;
	size_t at = put(0, "seq=");
	at = put_u64(at, seq);
	at = put(at, " state=");
	at = put(at, state);
	at = put(at, " count=");
	at = put_u64(at, count);
	at = put(at, " image=");
	at = put(at, ckpt_config.image_path);
	at = put(at, "\nmessage=");
	at = put(at, message[0] ? message : note);
	struct line end = {.len = 0};
	line_str(&end, "\nend=");
	line_u64(&end, seq);
	size_t tail = block_len > end.len ? block_len - end.len : 0;
	while (at < tail)
		block[at++] = ' ';
	put(tail, end.buf);
}
