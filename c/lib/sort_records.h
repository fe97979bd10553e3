/*
 * Ordering a short table of fixed-size records in place by an int32 key:
 * one descriptor's watches, which fdinfo lists in the kernel's order
 * while the image format wants the key's (c/kinds/fd_epoll.c, by fd;
 * c/kinds/fd_inotify.c, by wd), and a process's children, which /proc
 * lists by thread, each thread's by age (tree_members.c, by pid; tree
 * order is by ascending pid). Insertion sort: the tables are short and
 * nearly ordered, and the signal path has no allocation and no libc.
 */
#ifndef CKPT_SORT_RECORDS_H
#define CKPT_SORT_RECORDS_H
#include <stddef.h>
#include <stdint.h>

static inline int32_t record_key(const char *record, size_t key_offset)
{
	int32_t key;
	__builtin_memcpy(&key, record + key_offset, sizeof key);
	return key;
}

static inline void swap_records(char *a, char *b, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		char t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/* `n` records of `size` bytes at `base`, by the int32 at `key_offset`. */
static inline void sort_records_by_i32(void *base, uint32_t n, size_t size, size_t key_offset)
{
	char *r = base;
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && record_key(r + (j - 1) * size, key_offset) > record_key(r + j * size, key_offset); j--)
			swap_records(r + (j - 1) * size, r + j * size, size);
}

#endif
