/* Polls /proc and /sys files it keeps open, as top and monitoring loops do:
 * /proc/self/stat, /proc/<own pid>/status, /proc/thread-self/comm,
 * /proc/meminfo and /sys/devices/system/cpu/online, each rewound and read
 * again every step. After a restart the per-process files must describe
 * the restored process (its new pid), not the old one. It also reads
 * "MemTotal:" off a second /proc/meminfo descriptor at the start and only
 * at the end reads on: the offset must still be right after the label.
 * With an argument PID it also holds /proc/PID/stat, another process's. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int reread(int fd, char *buf, size_t cap)
{
	if (lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

int main(int argc, char **argv)
{
	char path[64], buf[8192], want[64];
	snprintf(path, sizeof path, "/proc/%d/status", getpid());
	int stat = open("/proc/self/stat", O_RDONLY), status = open(path, O_RDONLY);
	int comm = open("/proc/thread-self/comm", O_RDONLY), mem = open("/proc/meminfo", O_RDONLY);
	int cpus = open("/sys/devices/system/cpu/online", O_RDONLY), half = open("/proc/meminfo", O_RDONLY);
	if (stat < 0 || status < 0 || comm < 0 || mem < 0 || cpus < 0 || half < 0 || read(half, buf, 9) != 9)
		return 3;
	if (argc > 1) {
		snprintf(path, sizeof path, "/proc/%s/stat", argv[1]);
		if (open(path, O_RDONLY) < 0)
			return 3;
	}
	for (int i = 0; i < 10; i++) {
		int pid = getpid();
		const char *bad = 0;
		snprintf(want, sizeof want, "%d ", pid);
		if (reread(stat, buf, sizeof buf) || strncmp(buf, want, strlen(want)))
			bad = "/proc/self/stat";
		snprintf(want, sizeof want, "\nPid:\t%d\n", pid);
		if (!bad && (reread(status, buf, sizeof buf) || !strstr(buf, want)))
			bad = "/proc/PID/status";
		if (!bad && (reread(comm, buf, sizeof buf) || strncmp(buf, "proc-files", 10)))
			bad = "/proc/thread-self/comm";
		if (!bad && (reread(mem, buf, sizeof buf) || strncmp(buf, "MemTotal:", 9)))
			bad = "/proc/meminfo";
		if (!bad && (reread(cpus, buf, sizeof buf) || !isdigit((unsigned char)buf[0])))
			bad = "/sys/devices/system/cpu/online";
		printf("step %d pid %d %s%s\n", i, pid, bad ? "FAIL " : "ok", bad ? bad : "");
		fflush(stdout);
		if (bad)
			return 4;
		usleep(200000);
	}
	ssize_t n = read(half, buf, 20);
	buf[n > 0 ? n : 0] = 0;
	int at_value = n > 0 && buf[0] == ' ' && isdigit((unsigned char)buf[strspn(buf, " ")]);
	printf("meminfo offset %s\n", at_value ? "kept" : "FAIL");
	return at_value ? 0 : 5;
}
