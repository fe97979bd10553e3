/*
 * Phase 1, with validate.c: details the other checks let pass, which
 * `ckpt info`'s reader always refused: protection bits no mmap should be
 * given, region flags, argv and the group list (shown, not restored). A
 * bad one marks a corrupt image there as much as here, and the stub is the
 * one authority on that (`ckpt list` and `ckpt info --verify` ask it,
 * check_only.c), so it refuses them too, restart included.
 */
#include <sys/mman.h>
#include "stub.h"

static void check_region_bits(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	const uint32_t known_flags = CKPT_REGION_HEAP | CKPT_REGION_UNREAD | CKPT_REGION_THREAD_STACK | CKPT_REGION_SHM_REMOVED;
	if (!h->nregions)
		die("image has no memory regions (corrupt image)", 0);
	for (uint32_t i = 0; i < h->nregions; i++)
		if ((r[i].prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC)) || (r[i].flags & ~known_flags))
			die("memory region record is invalid (corrupt image)", 0);
}

/* argv: argv_len bytes of NUL-separated words from argv_str, the last one ended. */
static void check_argv(const struct ckpt_header *h, const char *t)
{
	const char *s = t + h->strings_off;
	if ((uint64_t)h->argv_str + h->argv_len > h->strings_size || (h->argv_len && s[h->argv_str + h->argv_len - 1]))
		die("argv string out of range or not NUL-terminated (corrupt image)", 0);
}

/* The groups as capture wrote them (process_state.h): "4,24,27", ngroups numbers. */
static void check_group_list(const struct ckpt_header *h, const char *t)
{
	const char *s = t + h->strings_off + h->process.groups_str;
	uint32_t n = 0;
	int digits = 0, ok = 1;
	for (; *s && ok; s++) {
		if (*s >= '0' && *s <= '9') {
			if (!digits++)
				n++;
		} else {
			ok = *s == ',' && digits;
			digits = 0;
		}
	}
	if (!ok || (n && !digits) || n != h->process.ngroups)
		die("supplementary groups do not match their count (corrupt image)", 0);
}

void check_details(const struct ckpt_header *h, const char *tables)
{
	check_region_bits(h, tables);
	check_argv(h, tables);
	check_group_list(h, tables);
}
