/*
 * One lock as fdinfo shows it (fs/locks.c, lock_get_status):
 *   "\t1: POSIX  ADVISORY  WRITE 8875 fe:00:2147677 10 14"
 *   "\t1: OFDLCK ADVISORY  READ -1 fe:00:2147677 100 EOF"
 *   "\t1: FLOCK  ADVISORY  WRITE 8875 fe:00:2147677 0 EOF"
 *   "\t1: LEASE  ACTIVE    READ 8875 fe:00:2147677 0 EOF"
 * The range is inclusive; EOF means "to the end of the file, ever".
 */
#include "lock_line.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of [*s, end) as [w, *s); 0 if there is none. */
static int word(const char **s, const char *end, const char **w)
{
	while (*s < end && is_space(**s))
		(*s)++;
	*w = *s;
	while (*s < end && !is_space(**s) && **s != '\n')
		(*s)++;
	return *s > *w;
}

static int is(const char *w, const char *s, const char *lit)
{
	while (w < s && *lit && *w == *lit)
		w++, lit++;
	return w == s && !*lit;
}

static int number(const char *w, const char *s, uint64_t *v)
{
	*v = 0;
	if (w == s)
		return 0;
	for (; w < s; w++) {
		if (*w < '0' || *w > '9' || *v > (~0ull - 9) / 10)
			return 0;
		*v = *v * 10 + (uint64_t)(*w - '0');
	}
	return 1;
}

int lock_line_parse(const char *s, const char *end, struct ckpt_lock *out, const char **why)
{
	const char *w[8], *e[8];
	for (int i = 0; i < 8; i++) {
		if (!word(&s, end, &w[i]))
			return -1;
		e[i] = s;
	}
	/* w: id "N:", kind, mode, type, pid, dev:ino, start, end */
	if (is(w[1], e[1], "POSIX"))
		out->kind = CKPT_LOCK_POSIX;
	else if (is(w[1], e[1], "OFDLCK"))
		out->kind = CKPT_LOCK_OFD;
	else if (is(w[1], e[1], "FLOCK"))
		out->kind = CKPT_LOCK_FLOCK;
	else if (is(w[1], e[1], "LEASE"))
		out->kind = CKPT_LOCK_LEASE;
	else
		return *why = "a lock of a kind ckpt does not know (not POSIX, OFD, flock or a lease)", 0;
	if (out->kind == CKPT_LOCK_LEASE && !is(w[2], e[2], "ACTIVE"))
		return *why = "a lease being broken (another process is opening the file)", 0;
	if (out->kind != CKPT_LOCK_LEASE && !is(w[2], e[2], "ADVISORY"))
		return *why = "a mandatory lock", 0;
	if (is(w[3], e[3], "READ"))
		out->type = 0; /* F_RDLCK */
	else if (is(w[3], e[3], "WRITE"))
		out->type = 1; /* F_WRLCK */
	else
		return *why = "a lock of a type ckpt does not know", 0;
	uint64_t first, last = 0;
	int to_eof = is(w[7], e[7], "EOF");
	if (!number(w[6], e[6], &first) || (!to_eof && (!number(w[7], e[7], &last) || last < first)))
		return -1;
	out->start = first;
	out->len = to_eof ? 0 : last - first + 1;
	return 1;
}
