#include "maps.h"
#include "ckpt_format.h"

#define PROT_R 1
#define PROT_W 2
#define PROT_X 4

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Reads hex digits up to a non-hex character; fails on none or overflow. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;
	for (; *p < end && hexval(**p) >= 0; (*p)++, n++) {
		if (v >> 60)
			return -1;
		v = v << 4 | (uint64_t)hexval(**p);
	}
	*out = v;
	return n ? 0 : -1;
}

static int parse_dec(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;
	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++)
		v = v * 10 + (uint64_t)(**p - '0');
	*out = v;
	return n ? 0 : -1;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

static int parse_perms(const char **p, const char *end, struct maps_entry *e)
{
	if (end - *p < 4)
		return -1;
	const char *s = *p;
	e->prot = (s[0] == 'r' ? PROT_R : 0) | (s[1] == 'w' ? PROT_W : 0) | (s[2] == 'x' ? PROT_X : 0);
	e->shared = s[3] == 's';
	*p += 4;
	return 0;
}

static const char deleted_suffix[] = " (deleted)";

static void set_path(struct maps_entry *e, const char *s, const char *eol)
{
	int n = (int)(eol - s), k = (int)sizeof(deleted_suffix) - 1;
	e->path = s;
	e->deleted = 0;
	if (n > k && s[0] == '/') {
		int same = 1;
		for (int i = 0; i < k; i++)
			same &= s[n - k + i] == deleted_suffix[i];
		if (same) {
			e->deleted = 1;
			n -= k;
		}
	}
	e->path_len = n;
}

static int parse_line(const char *p, const char *eol, struct maps_entry *e)
{
	uint64_t major, minor;
	if (parse_hex(&p, eol, &e->start) || expect(&p, eol, '-') || parse_hex(&p, eol, &e->end) ||
	    expect(&p, eol, ' ') || parse_perms(&p, eol, e) || expect(&p, eol, ' ') ||
	    parse_hex(&p, eol, &e->offset) || expect(&p, eol, ' ') || parse_hex(&p, eol, &major) ||
	    expect(&p, eol, ':') || parse_hex(&p, eol, &minor) || expect(&p, eol, ' ') ||
	    parse_dec(&p, eol, &e->inode))
		return -1;
	if (e->start >= e->end)
		return -1;
	e->dev_major = (uint32_t)major;
	e->dev_minor = (uint32_t)minor;
	skip_spaces(&p, eol);
	set_path(e, p, eol);
	return 0;
}

int maps_next(const char **cursor, const char *end, struct maps_entry *e)
{
	const char *p = *cursor, *eol = p;
	if (p >= end)
		return 0;
	while (eol < end && *eol != '\n')
		eol++;
	*cursor = eol < end ? eol + 1 : end;
	return parse_line(p, eol, e) ? -1 : 1;
}

int maps_is(const struct maps_entry *e, const char *name)
{
	int i = 0;
	for (; i < e->path_len; i++)
		if (name[i] != e->path[i])
			return 0;
	return name[i] == 0;
}

/* Two-letter VmFlags mnemonics (fs/proc/task_mmu.c) in ckpt_vm_flags order. */
static const char vm_mnemonics[][3] = {"mw", "lo", "lf", "dc", "wf", "dd", "hg", "nh", "mg", "sr", "rr", "sl", "ac", "nr"};
_Static_assert(sizeof vm_mnemonics / sizeof vm_mnemonics[0] == 14 && CKPT_VM_NORESERVE == 1 << 13,
	       "one mnemonic per enum ckpt_vm_flags bit, in order");

uint64_t maps_vmflags(const char *p, const char *eol)
{
	uint64_t flags = 0;
	while (p < eol) {
		while (p < eol && *p == ' ')
			p++;
		const char *word = p;
		while (p < eol && *p != ' ')
			p++;
		if (p - word != 2)
			continue;
		for (unsigned i = 0; i < sizeof vm_mnemonics / sizeof vm_mnemonics[0]; i++)
			if (word[0] == vm_mnemonics[i][0] && word[1] == vm_mnemonics[i][1])
				flags |= 1ull << i;
	}
	return flags;
}
