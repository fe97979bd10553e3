/*
 * A status line other processes can read: `ckpt checkpoint PID` and the
 * interactive mode find ckpt-managed processes, their image path and when a
 * checkpoint is complete through /proc/PID/environ, readable by the same
 * user without ptrace rights.
 *
 * The launcher passes CKPT_STATUS=<CKPT_STATUS_LEN spaces>. Its text lives
 * in the process's initial environment block, which is part of its memory,
 * so it survives a restart at the same address; libckpt rewrites the text
 * in place, always to the same length, in the grammar of ckpt_protocol.h.
 * TEXT is the failure, the background writer, or else a standing warning
 * about the program's use of the trigger.
 * A program this process execs in its place gets a copy of the line in
 * its own new block (exec.c passes it on), and carries on counting from it.
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

/* The block, found but not written: a member's, which shows nothing unless
 * it becomes a root of its own (daemon_root.c). */
void status_attach(void)
{
	char *v = getenv(CKPT_ENV_STATUS);
	if (!v || block)
		return;
	block = v;
	block_len = str_len(v);
	/* After an exec in place: go on from the previous program's numbers. */
	if (str_starts(v, CKPT_STATUS_SEQ)) {
		const char *p = v + str_len(CKPT_STATUS_SEQ);
		for (; *p >= '0' && *p <= '9'; p++)
			seq = seq * 10 + (uint64_t)(*p - '0');
		while (*p && *p != '\n' && !str_starts(p, CKPT_STATUS_COUNT))
			p++;
		if (str_starts(p, CKPT_STATUS_COUNT))
			for (p += str_len(CKPT_STATUS_COUNT); *p >= '0' && *p <= '9'; p++)
				count = count * 10 + (uint64_t)(*p - '0');
	}
}

void status_init(void)
{
	status_attach();
	status_set(CKPT_STATE_RUNNING, "");
}

static size_t put(size_t at, const char *s)
{
	while (*s && at < block_len)
		block[at++] = *s++;
	return at;
}

/* `s` with the escape character and control characters as %XX: a newline
 * in an image path or a message must not end its field. */
static size_t put_encoded(size_t at, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s && at < block_len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch != 0x7f && ch != CKPT_STATUS_ESCAPE[0]) {
			block[at++] = (char)ch;
			continue;
		}
		char esc[4] = {CKPT_STATUS_ESCAPE[0], hex[ch >> 4], hex[ch & 15], 0};
		at = put(at, esc);
	}
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
	if (str_eq(state, CKPT_STATE_WRITTEN) || str_eq(state, CKPT_STATE_STOPPED))
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
	size_t at = put(0, CKPT_STATUS_SEQ);
	at = put_u64(at, seq);
	at = put(at, CKPT_STATUS_STATE);
	at = put(at, state);
	at = put(at, CKPT_STATUS_COUNT);
	at = put_u64(at, count);
	at = put(at, CKPT_STATUS_IMAGE);
	at = put_encoded(at, ckpt_config.image_path);
	at = put(at, CKPT_STATUS_MESSAGE);
	at = put_encoded(at, message[0] ? message : note);
	struct line end = {.len = 0};
	line_str(&end, CKPT_STATUS_END);
	line_u64(&end, seq);
	size_t tail = block_len > end.len ? block_len - end.len : 0;
	while (at < tail)
		block[at++] = CKPT_STATUS_PAD[0];
	put(tail, end.buf);
}
