/* Part of the image-format contract (c/ckpt_format.h includes it), though
 * never in an image file: the record the stub fills in libckpt's memory
 * (the header's restart_info_addr) once memory is restored. */
#ifndef CKPT_FORMAT_RESTART_INFO_H
#define CKPT_FORMAT_RESTART_INFO_H

struct ckpt_restart_info {
	uint64_t magic;              /* CKPT_RESTART_INFO_MAGIC once filled in */
	uint64_t arena_start, arena_len; /* the stub's memory, for libckpt to unmap */
	int32_t new_pid;
	int32_t threads_in_stub;     /* threads still to leave the arena (futex) */
	char image_path[CKPT_PATH_MAX]; /* where the next checkpoint goes */
	/* tty: the modes of fds 0-2 as the restart found them (the shell's),
	 * put back when the program stops again; valid = 0 for non-terminals */
	struct ckpt_termios shell_termios[3];
	/* compression: `ckpt restart --compress` asks for it from now on */
	uint32_t compress;
	/* --lazy: memory may still be loading (libckpt waits before a capture
	 * or fork until no region is registered with the page server's
	 * userfaultfd, c/lib/lazy_wait.c) */
	uint32_t lazy;
};

#endif
