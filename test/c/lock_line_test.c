/* The fdinfo lock-line parser (c/lib/lock_line.c) against libc: lines as
 * this kernel prints them for locks this process takes, plus crafted lines
 * it must refuse or call unrestorable. Prints "N passed, M failed". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "../../c/lib/lock_line.h"

static int passed, failed;

static void check(int ok, const char *what, const char *line)
{
	if (ok)
		passed++;
	else
		failed++, printf("FAIL: %s: %s\n", what, line);
}

static int parse(const char *line, struct ckpt_lock *l, const char **why)
{
	*why = 0;
	return lock_line_parse(line, line + strlen(line), l, why);
}

static void expect_lock(const char *line, uint32_t kind, uint32_t type, uint64_t start, uint64_t len)
{
	struct ckpt_lock l = {0};
	const char *why;
	check(parse(line, &l, &why) == 1, "parses", line);
	check(l.kind == kind && l.type == type && l.start == start && l.len == len, "fields", line);
}

static void expect(const char *line, int rc)
{
	struct ckpt_lock l = {0};
	const char *why;
	check(parse(line, &l, &why) == rc && (rc != 0 || why), "refused", line);
}

/* The kernel's own lines for the locks on fd, in order taken. */
static void real_lines(void)
{
	char path[] = "/tmp/lock-line-XXXXXX", info[64], text[4096];
	int fd = mkstemp(path), other = open(path, O_RDWR);
	unlink(path);
	struct flock p = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 7, .l_len = 3};
	struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0};
	if (fd < 0 || flock(fd, LOCK_SH) || fcntl(fd, F_SETLK, &p) || fcntl(other, F_OFD_SETLK, &o)) {
		failed++, printf("FAIL: cannot take locks\n");
		return;
	}
	snprintf(info, sizeof info, "/proc/self/fdinfo/%d", other);
	FILE *f = fopen(info, "r");
	int seen = 0;
	while (f && fgets(text, sizeof text, f))
		if (!strncmp(text, "lock:", 5))
			expect_lock(text + 5, CKPT_LOCK_OFD, 1, 100, 0), seen++;
	fclose(f);
	snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
	f = fopen(info, "r");
	while (f && fgets(text, sizeof text, f)) {
		if (strncmp(text, "lock:", 5))
			continue;
		struct ckpt_lock l = {0};
		const char *why;
		check(parse(text + 5, &l, &why) == 1, "parses", text);
		if (l.kind == CKPT_LOCK_FLOCK)
			check(l.type == 0 && l.start == 0 && l.len == 0, "flock fields", text), seen++;
		if (l.kind == CKPT_LOCK_POSIX)
			check(l.type == 0 && l.start == 7 && l.len == 3, "posix fields", text), seen++;
	}
	fclose(f);
	check(seen == 3, "three real locks seen", "fdinfo");
}

int main(void)
{
	real_lines();
	expect_lock("\t1: POSIX  ADVISORY  WRITE 8875 fe:00:2147677 10 14", CKPT_LOCK_POSIX, 1, 10, 5);
	expect_lock("\t2: FLOCK  ADVISORY  READ 8875 fe:00:2147677 0 EOF", CKPT_LOCK_FLOCK, 0, 0, 0);
	expect_lock("\t1: LEASE  ACTIVE    READ 8875 fe:00:2147677 0 EOF\n", CKPT_LOCK_LEASE, 0, 0, 0);
	expect_lock("\t3: OFDLCK ADVISORY  WRITE -1 fe:00:12 0 0", CKPT_LOCK_OFD, 1, 0, 1);
	expect("\t1: LEASE  BREAKING  READ 8875 fe:00:2147677 0 EOF", 0);
	expect("\t1: DELEG  ACTIVE    READ 8875 fe:00:2147677 0 EOF", 0);
	expect("\t1: POSIX  MANDATORY WRITE 8875 fe:00:2147677 0 EOF", 0);
	expect("\t1: POSIX  ADVISORY  UNLCK 8875 fe:00:2147677 0 EOF", 0);
	expect("\t1: POSIX  ADVISORY  WRITE 8875 fe:00:2147677 14 10", -1);
	expect("\t1: POSIX  ADVISORY  WRITE 8875 fe:00:2147677 x 10", -1);
	expect("\t1: POSIX  ADVISORY  WRITE 8875 fe:00:2147677 99999999999999999999 EOF", -1);
	expect("\t1: POSIX  ADVISORY  WRITE 8875", -1);
	expect("", -1);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
