/*
 * /proc/self/fdinfo/N: the kernel's own account of a descriptor's state,
 * the one way to read some of it without changing it (an eventfd's
 * counter: read() would consume it; a signalfd's mask; a timerfd's clock,
 * flags and pending expirations). One "key: value" line each.
 */
#include <fcntl.h>
#include "ckpt_lib.h"
#include "../sys.h"

long read_fdinfo(struct capture *c, int fd)
{
	struct line p = {.len = 0};
	line_str(&p, "/proc/self/fdinfo/");
	line_u64(&p, (uint64_t)fd);
	return read_proc_file(c, p.buf);
}

static int digit(char ch, unsigned base)
{
	unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 99;
	return d < base ? (int)d : -1;
}

const char *fdinfo_digits(const char *s, const char *end, unsigned base, uint64_t *v)
{
	const char *from = s;
	uint64_t n = 0;
	for (int d; s < end && (d = digit(*s, base)) >= 0; s++)
		n = n * base + (uint64_t)d;
	*v = n;
	return s > from ? s : 0;
}

int fdinfo_number(const char *text, const char *key, unsigned base, uint64_t *v)
{
	const char *at = line_value(text, key);
	return at && fdinfo_digits(at, at + str_len(at), base, v) ? 0 : -1;
}

const char *fdinfo_field(const char *s, const char *end, const char *key, unsigned base, uint64_t *v)
{
	while (s < end && !str_starts(s, key))
		s++;
	if (s >= end)
		return 0;
	for (s += str_len(key); s < end && *s == ' '; s++)
		;
	return fdinfo_digits(s, end, base, v);
}
