/*
 * Fields of a /proc/PID/stat line. Its second field, comm, may hold spaces
 * and parentheses, so every field after it is counted from the last ')'.
 */
#include "ckpt_lib.h"

/* The text after the last ')', or 0 if there is none. */
static const char *after_comm(const char *text, long len)
{
	const char *p = text + len;
	while (p > text && *p != ')')
		p--;
	return *p == ')' ? p + 1 : 0;
}

uint64_t stat_field(const char *text, long len, int n)
{
	const char *p = after_comm(text, len);
	if (!p)
		return 0;
	int field = 2;
	uint64_t v = 0;
	for (; *p && field < n; p++)
		if (*p == ' ')
			field++;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

char stat_state(const char *text, long len)
{
	const char *p = after_comm(text, len);
	return p && p[0] == ' ' ? p[1] : '?';
}
