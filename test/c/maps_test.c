/* The maps parser (c/maps.c) against libc: real lines from this process's
 * own /proc/self/maps, compared field by field with sscanf's reading, plus
 * crafted lines it must refuse. Prints "N passed, M failed". */
#include <stdio.h>
#include <string.h>
#include "../../c/maps.h"
#include "../../c/ckpt_format.h"

static int passed, failed;

static void check(int ok, const char *what, const char *line)
{
	if (ok)
		passed++;
	else
		failed++, printf("FAIL: %s: %s\n", what, line);
}

static void against_sscanf(const char *line)
{
	unsigned long start, end, offset, inode;
	unsigned major, minor;
	char perms[5];
	int path_at = 0;
	if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &start, &end, perms, &offset, &major, &minor, &inode, &path_at) < 7)
		return;
	const char *cur = line, *stop = line + strlen(line);
	struct maps_entry e;
	int k = maps_next(&cur, stop, &e);
	check(k == 1, "parses", line);
	check(e.start == start && e.end == end && e.offset == offset && e.inode == inode, "numbers", line);
	check(e.dev_major == major && e.dev_minor == minor, "device", line);
	check(e.prot == ((perms[0] == 'r') | (perms[1] == 'w') << 1 | (perms[2] == 'x') << 2), "prot", line);
	check(e.shared == (perms[3] == 's'), "shared", line);
	const char *path = line + path_at;
	size_t n = strcspn(path, "\n");
	check((size_t)e.path_len + (e.deleted ? 10 : 0) == n && !strncmp(e.path, path, (size_t)e.path_len), "path", line);
}

static void refuses(const char *line)
{
	const char *cur = line;
	struct maps_entry e;
	check(maps_next(&cur, line + strlen(line), &e) == -1, "refuses", line);
	check(cur == line + strlen(line), "advances past a bad line", line);
}

int main(void)
{
	char line[8192];
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f))
		against_sscanf(line);
	against_sscanf("7f0000000000-7f0000001000 rw-s 00002000 00:05 1234  /dev/zero (deleted)\n");
	against_sscanf("7f0000000000-7f0000001000 r--p 00000000 fe:01 99 /path with spaces/lib.so\n");
	against_sscanf("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");

	const char *del = "1000-2000 r--p 0 08:01 5 /tmp/x (deleted)\n", *cur = del;
	struct maps_entry e;
	check(maps_next(&cur, del + strlen(del), &e) == 1 && e.deleted && e.path_len == 6, "deleted suffix", del);
	const char *two = "1000-2000 r--p 0 0:0 0 [vdso]\n3000-4000 rw-p 0 0:0 0\n";
	cur = two;
	check(maps_next(&cur, two + strlen(two), &e) == 1 && maps_is(&e, "[vdso]") && !maps_is(&e, "[vds"), "maps_is", two);
	check(maps_next(&cur, two + strlen(two), &e) == 1 && e.start == 0x3000 && e.path_len == 0, "second line", two);
	check(maps_next(&cur, two + strlen(two), &e) == 0, "end of buffer", two);

	const char *vm = " rd wr mr mw me lo lf dc wf dd hg nh mg sr rr sl ac nr sd mwx lox";
	check(maps_vmflags(vm, vm + strlen(vm)) == (uint64_t)(CKPT_VM_NORESERVE << 1) - 1, "every known VmFlag", vm);
	const char *none = " rd mr me sd um uw";
	check(maps_vmflags(none, none + strlen(none)) == 0, "no flag of ours", none);
	const char *cut = " dc wf";
	check(maps_vmflags(cut, cut + 3) == CKPT_VM_DONTFORK, "stops at eol", cut);

	refuses("2000-1000 r--p 0 0:0 0\n");   /* start after end */
	refuses("zz-1000 r--p 0 0:0 0\n");
	refuses("1000-2000\n");
	refuses("1000-2000 r--p 0 0:0\n");
	refuses("10000000000000000-2 r--p 0 0:0 0\n"); /* overflow */
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
