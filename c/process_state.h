/*
 * Helpers shared by libckpt (capture) and the stub (comparison) for
 * struct ckpt_process_state: both must spell the groups the same way, and
 * both read one-number /proc files.
 */
#ifndef CKPT_PROCESS_STATE_H
#define CKPT_PROCESS_STATE_H

#include <stddef.h>
#include <stdint.h>

/* The most supplementary groups the kernel allows (NGROUPS_MAX). */
#define CKPT_MAX_GROUPS 65536
/* Room for them as text: ten digits and a comma each. */
#define CKPT_GROUPS_TEXT (CKPT_MAX_GROUPS * 11 + 1)

/* "4,24,27" in the order getgroups gives (the kernel keeps them sorted);
 * "" for none. Returns the length; `out` holds CKPT_GROUPS_TEXT bytes. */
static inline size_t groups_text(char *out, const uint32_t *groups, long n)
{
	size_t len = 0;
	for (long i = 0; i < n; i++) {
		char tmp[10];
		int k = 0;
		uint32_t v = groups[i];
		do
			tmp[k++] = (char)('0' + v % 10);
		while (v /= 10);
		if (i)
			out[len++] = ',';
		while (k)
			out[len++] = tmp[--k];
	}
	out[len] = 0;
	return len;
}

/* The first (optionally negative) decimal number in `s`; `*ok` is 0 if none. */
static inline int64_t decimal_at(const char *s, int *ok)
{
	int neg = *s == '-';
	s += neg;
	int64_t v = 0;
	*ok = *s >= '0' && *s <= '9';
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return neg ? -v : v;
}

#endif
