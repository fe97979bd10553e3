/* Holds a file it deleted while open (the temporary-file pattern: fd 3,
 * mode 0640, O_RDWR) and a sealed memfd (fd 4, named "ckpt-demo", grow and
 * shrink sealed), and a dup of the memfd on fd 5. Every step it appends one
 * letter through fd 3 and reads one byte on through fd 4, then checks from
 * inside: both files' whole contents, their offsets, that fd 3 is still
 * unlinked with its mode, the memfd's name and seals, and that fd 5 still
 * shares fd 4's offset.
 * Variants that must be refused at checkpoint: "big" (the deleted file
 * grows past 64 MiB), "mapped" (the memfd is also mapped MAP_SHARED),
 * "linked" (the deleted file still has another name), "reused" (a new file
 * took the deleted file's name), "reopened" (the memfd opened a second time
 * through /proc/self/fd: a second open file description, not a dup). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char memtext[] = "0123456789abcdefghijklmnop";

static const char *check(int step, const char *tmpdir)
{
	char buf[256], want[256], link[4200], path[4200];
	size_t n = 14 + (size_t)step + 1;
	snprintf(want, sizeof want, "deleted file: %.*s", step + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (pread(3, buf, sizeof buf, 0) != (ssize_t)n || memcmp(buf, want, n))
		return "deleted file contents";
	if (lseek(3, 0, SEEK_CUR) != (off_t)n)
		return "deleted file offset";
	struct stat st;
	if (fstat(3, &st) || st.st_nlink != 0 || (st.st_mode & 07777) != 0640)
		return "deleted file link count or mode";
	snprintf(path, sizeof path, "%s/scratch (deleted)", tmpdir);
	ssize_t k = readlink("/proc/self/fd/3", link, sizeof link - 1);
	if (k < 0 || (link[k] = 0, strcmp(link, path)))
		return "deleted file name";
	if (pread(4, buf, sizeof buf, 0) != (ssize_t)strlen(memtext) || memcmp(buf, memtext, strlen(memtext)))
		return "memfd contents";
	if (lseek(4, 0, SEEK_CUR) != step + 1 || lseek(5, 0, SEEK_CUR) != step + 1)
		return "memfd offset, or its dup's";
	if (fcntl(4, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK) || ftruncate(4, 100) == 0)
		return "memfd seals";
	k = readlink("/proc/self/fd/4", link, sizeof link - 1);
	if (k < 0 || (link[k] = 0, strcmp(link, "/memfd:ckpt-demo (deleted)")))
		return "memfd name";
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *variant = argc > 2 ? argv[2] : "";
	char path[4200];
	snprintf(path, sizeof path, "%s/scratch", argv[1]);
	umask(0);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	int m = memfd_create("ckpt-demo", MFD_ALLOW_SEALING);
	if (fd != 3 || m != 4 || dup(m) != 5 || write(fd, "deleted file: ", 14) != 14)
		return 3;
	if (!strcmp(variant, "linked")) {
		char other[4300];
		snprintf(other, sizeof other, "%s.link", path);
		if (link(path, other))
			return 3;
	}
	if (unlink(path) || write(m, memtext, strlen(memtext)) != (ssize_t)strlen(memtext) || lseek(m, 0, SEEK_SET))
		return 3;
	if (fcntl(m, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK))
		return 3;
	if (!strcmp(variant, "reused") && close(open(path, O_WRONLY | O_CREAT, 0600)))
		return 3;
	if (!strcmp(variant, "reopened") && open("/proc/self/fd/4", O_RDWR) != 6)
		return 3;
	if (!strcmp(variant, "big") && ftruncate(fd, (65 << 20)))
		return 3;
	if (!strcmp(variant, "mapped") && mmap(0, 4096, PROT_READ, MAP_SHARED, m, 0) == MAP_FAILED)
		return 3;
	for (int i = 0; i < 10; i++) {
		char c;
		if (write(3, &"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i], 1) != 1 || read(4, &c, 1) != 1 || c != memtext[i])
			return 4;
		const char *bad = variant[0] ? 0 : check(i, argv[1]);
		printf("step %d %s%s\n", i, bad ? "FAIL " : "files ok", bad ? bad : "");
		fflush(stdout);
		if (bad)
			return 5;
		usleep(200000);
	}
	return 0;
}
