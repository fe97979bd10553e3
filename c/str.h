/* The few string helpers both libckpt's signal path and the libc-less stub
 * need. Static inline so each side gets its own copy and neither depends on
 * libc's (which the stub does not have). */
#ifndef CKPT_STR_H
#define CKPT_STR_H
#include <stddef.h>
#include <stdint.h>

static inline size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static inline int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static inline int str_starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* In "Key:\tvalue" lines (/proc/PID/status), the value of the line that
 * starts with `key`, past its blanks; 0 if no line does. */
static inline const char *line_value(const char *text, const char *key)
{
	for (const char *at = text; *at;) {
		if (str_starts(at, key)) {
			for (at += str_len(key); *at == ' ' || *at == '\t';)
				at++;
			return at;
		}
		while (*at && *at != '\n')
			at++;
		at += *at == '\n';
	}
	return 0;
}

static inline int str_ends(const char *s, const char *suffix)
{
	size_t n = str_len(s), k = str_len(suffix);
	return n >= k && str_eq(s + n - k, suffix);
}

/* Whether the first n bytes of s end with suffix. */
static inline int str_ends_n(const char *s, size_t n, const char *suffix)
{
	size_t k = str_len(suffix);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (s[n - k + i] != suffix[i])
			return 0;
	return 1;
}

/* Copies at most cap-1 bytes and always terminates; returns the length. */
static inline size_t str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (; src[n] && n + 1 < cap; n++)
		dst[n] = src[n];
	dst[n] = 0;
	return n;
}

/* The directory part of `path` ("/a/b/name" -> "/a/b", "/name" -> "/"). */
static inline void str_dir_of(char *dir, size_t cap, const char *path)
{
	size_t n = str_copy(dir, cap, path);
	while (n > 1 && dir[n - 1] != '/')
		n--;
	dir[n > 1 ? n - 1 : 1] = 0;
}

/* A bounded text buffer for one-line messages: appends never overflow, they
 * truncate. */
struct line {
	char buf[768];
	size_t len;
};

static inline void line_str(struct line *l, const char *s)
{
	while (*s && l->len + 1 < sizeof(l->buf))
		l->buf[l->len++] = *s++;
	l->buf[l->len] = 0;
}

static inline void line_u64(struct line *l, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n && l->len + 1 < sizeof(l->buf))
		l->buf[l->len++] = tmp[--n];
	l->buf[l->len] = 0;
}

/* "/proc/PID/FILE" (FILE without its slash: "stat", "fd", "task"), for
 * more to be appended: a process's /proc path, built in one place. */
static inline struct line proc_path(uint64_t pid, const char *file)
{
	struct line l = {.len = 0};
	line_str(&l, "/proc/");
	line_u64(&l, pid);
	line_str(&l, "/");
	line_str(&l, file);
	return l;
}

/* "/proc/self/fd/FD": this process's open file by its descriptor, to open
 * again, link or read the link of. */
static inline struct line self_fd_path(int fd)
{
	struct line l = {.len = 0};
	line_str(&l, "/proc/self/fd/");
	line_u64(&l, (uint64_t)fd);
	return l;
}

static inline void line_i64(struct line *l, int64_t v)
{
	if (v < 0)
		line_str(l, "-");
	line_u64(l, (uint64_t)(v < 0 ? -v : v));
}

static inline void line_hex(struct line *l, uint64_t v)
{
	char tmp[16];
	int n = 0;
	line_str(l, "0x");
	do
		tmp[n++] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	while (n && l->len + 1 < sizeof(l->buf))
		l->buf[l->len++] = tmp[--n];
	l->buf[l->len] = 0;
}

/* An address range as maps shows it: "0x1000-0x2000". */
static inline void line_range(struct line *l, uint64_t start, uint64_t end)
{
	line_hex(l, start);
	line_str(l, "-");
	line_hex(l, end);
}

/* "1.5 MiB" style, one decimal. */
static inline void line_size(struct line *l, uint64_t bytes)
{
	static const char units[][4] = {"B", "KiB", "MiB", "GiB", "TiB"};
	uint64_t tenths = bytes * 10;
	int u = 0;
	while (tenths >= 10240 && u < 4)
		tenths /= 1024, u++;
	line_u64(l, tenths / 10);
	if (u) {
		line_str(l, ".");
		line_u64(l, tenths % 10);
	}
	line_str(l, " ");
	line_str(l, units[u]);
}

/* Milliseconds with one decimal, from nanoseconds. */
static inline void line_ms(struct line *l, uint64_t ns)
{
	line_u64(l, ns / 1000000);
	line_str(l, ".");
	line_u64(l, ns / 100000 % 10);
	line_str(l, " ms");
}

/* The name of an errno value, without libc's strerror (not async-signal-safe,
 * and absent in the stub). */
static inline const char *errno_text(long err)
{
	switch (err < 0 ? -err : err) {
	case 1: return "Operation not permitted";
	case 2: return "No such file or directory";
	case 5: return "Input/output error";
	case 9: return "Bad file descriptor";
	case 12: return "Cannot allocate memory";
	case 13: return "Permission denied";
	case 14: return "Bad address";
	case 16: return "Device or resource busy";
	case 17: return "File exists";
	case 20: return "Not a directory";
	case 21: return "Is a directory";
	case 22: return "Invalid argument";
	case 24: return "Too many open files";
	case 27: return "File too large";
	case 28: return "No space left on device";
	case 30: return "Read-only file system";
	case 36: return "File name too long";
	case 95: return "Operation not supported";
	case 122: return "Disk quota exceeded";
	default: return "System error";
	}
}

#endif
