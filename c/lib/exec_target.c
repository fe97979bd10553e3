/*
 * Which build of libckpt the next program of the launched pid needs.
 * A musl program's loader cannot load the glibc build (it references
 * glibc-only symbols) and glibc's cannot load the musl one, so an exec in
 * place (`env X=1 ./musl-prog`, a `#!/bin/sh` script that execs a musl
 * program, a musl shell that execs a glibc tool) must hand on the build
 * that matches the loader the kernel will start: the one named by the
 * target's PT_INTERP, or by its `#!` interpreter's. Read with raw calls
 * into stack buffers: execve may be called in a vfork child.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "../sys.h"

#define MAX_INTERPRETERS 4  /* nested `#!` levels Linux follows */
#define SHEBANG_BYTES 256   /* what the kernel reads of a `#!` line */
#define PT_INTERP 3

int ckpt_preload_entry(const char *entry, size_t len)
{
	return str_ends_n(entry, len, CKPT_LIB_FILE) || str_ends_n(entry, len, CKPT_LIB_MUSL_FILE);
}

/* glibc's loader is ld-linux-x86-64.so.2, musl's ld-musl-x86_64.so.1,
 * wherever installed (/lib64, /lib, a Nix store). */
static uint32_t loader_libc(const char *interp)
{
	const char *base = interp;
	for (const char *s = interp; *s; s++)
		if (*s == '/')
			base = s + 1;
	if (str_starts(base, "ld-musl-"))
		return CKPT_LIBC_MUSL;
	if (str_starts(base, "ld-linux-"))
		return CKPT_LIBC_GLIBC;
	return 0;
}

static uint32_t libc_of_open(int fd, int depth);

static uint32_t libc_of_file(const char *path, int depth)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	uint32_t libc = libc_of_open((int)fd, depth);
	/* The loader run as a program (`ld-linux-x86-64.so.2 ./prog`) has no
	 * loader of its own, yet honours LD_PRELOAD for the program it loads. */
	if (libc & EXEC_STATIC && loader_libc(path))
		libc = (libc & EXEC_SECURE) | loader_libc(path);
	sys_close((int)fd);
	return libc;
}

static uint32_t libc_of_script(const unsigned char *head, long n, int depth)
{
	char interp[SHEBANG_BYTES];
	long i = 2, k = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\t'))
		i++;
	while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && k < SHEBANG_BYTES - 1)
		interp[k++] = (char)head[i++];
	interp[k] = 0;
	return k && depth < MAX_INTERPRETERS ? libc_of_file(interp, depth + 1) : 0;
}

/* A program its loader runs in secure mode for an unprivileged caller
 * (set-user-ID, set-group-ID, file capabilities): LD_PRELOAD is ignored. */
static int runs_secure(int fd)
{
	struct stat st;
	if (sys_fstat(fd, &st) == 0 && ((st.st_mode & S_ISUID) || (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)))
		return 1;
	char cap[32];
	return SYS4(__NR_fgetxattr, fd, "security.capability", cap, sizeof cap) > 0;
}

static uint32_t libc_of_elf_or_script(int fd, int depth);

/* The libc whose loader runs the open file: EXEC_STATIC for an ELF
 * program without one, 0 for an unknown loader or anything unreadable
 * (the exec then keeps ours); with
 * EXEC_SECURE added for a set-user-ID program (exec.c does not hold the
 * trigger blocked for a program that may not load libckpt). */
static uint32_t libc_of_open(int fd, int depth)
{
	uint32_t libc = libc_of_elf_or_script(fd, depth);
	return depth == 0 && runs_secure(fd) ? libc | EXEC_SECURE : libc;
}

static uint32_t libc_of_elf_or_script(int fd, int depth)
{
	unsigned char head[SHEBANG_BYTES];
	long n = sys_pread(fd, head, sizeof head, 0);
	if (n >= 2 && head[0] == '#' && head[1] == '!')
		return libc_of_script(head, n, depth);
	if (n < 64 || head[0] != 0x7f || head[1] != 'E' || head[2] != 'L' || head[3] != 'F' || head[4] != 2)
		return 0;
	uint64_t phoff;
	uint16_t phentsize, phnum;
	__builtin_memcpy(&phoff, head + 32, 8);
	__builtin_memcpy(&phentsize, head + 54, 2);
	__builtin_memcpy(&phnum, head + 56, 2);
	for (uint16_t i = 0; i < phnum && phentsize >= 56; i++) {
		struct { uint32_t type, flags; uint64_t offset, vaddr, paddr, filesz; } ph;
		if (sys_pread(fd, &ph, sizeof ph, (long)(phoff + (uint64_t)i * phentsize)) != sizeof ph)
			return 0;
		if (ph.type != PT_INTERP)
			continue;
		char interp[SHEBANG_BYTES] = {0};
		uint64_t len = ph.filesz < sizeof interp - 1 ? ph.filesz : sizeof interp - 1;
		return sys_pread(fd, interp, len, (long)ph.offset) == (long)len ? loader_libc(interp) : 0;
	}
	return EXEC_STATIC;
}

uint32_t exec_libc_of_path(const char *path)
{
	return libc_of_file(path, 0);
}

uint32_t exec_libc_of_fd(int fd)
{
	return libc_of_open(fd, 0);
}

/* As execvp finds `file`: itself with a slash in it, else the first
 * executable `dir/file` along the caller's PATH (both libcs read PATH from
 * the caller's environment, not from the envp handed on). */
uint32_t exec_libc_of_search(const char *file)
{
	if (!*file)
		return 0;
	for (const char *s = file; *s; s++)
		if (*s == '/')
			return exec_libc_of_path(file);
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = str_len(file);
	while (*path) {
		char candidate[CKPT_PATH_MAX];
		size_t k = 0;
		for (; *path && *path != ':'; path++)
			if (k < sizeof candidate - 1)
				candidate[k++] = *path;
		if (*path == ':')
			path++;
		if (!k)
			candidate[k++] = '.';
		if (k + 1 + flen >= sizeof candidate)
			continue;
		candidate[k++] = '/';
		__builtin_memcpy(candidate + k, file, flen + 1);
		if (sys_faccessat2(AT_FDCWD, candidate, 1 /* X_OK */, 0) == 0)
			return exec_libc_of_path(candidate);
	}
	return 0;
}
