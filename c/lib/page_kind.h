/* How one page of a region comes back at restart, from its pagemap word.
 * Pure (no syscalls, no libc): unit-tested against made-up words in
 * test/c/page_kind_test.c. */
#ifndef CKPT_PAGE_KIND_H
#define CKPT_PAGE_KIND_H

#include <stdint.h>

/* /proc/PID/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)     /* file page or shared anonymous */
#define PM_GUARD (1ull << 58)    /* guard region marker (Linux 6.15+ reports it) */
#define PM_UFFD_WP (1ull << 57)  /* userfaultfd write-protected: not written since (dirty_tracking.c) */
#define PM_EXCLUSIVE (1ull << 56)

/* What the region's pages are, apart from guard markers. */
enum page_source {
	PAGES_ANON,          /* private anonymous: written pages are data */
	PAGES_FILE_PRIVATE,  /* private file: pages copied on write are data */
	PAGES_ALL_DATA,      /* stored whole (shared anonymous, deleted file) */
	PAGES_ALL_FILE,      /* mapped again whole (shared file) */
};

/* enum ckpt_extent_kind for one page. */
uint32_t page_kind(uint64_t pagemap_word, enum page_source source);

/* The pagemap word's flag bits for a run of pages PAGEMAP_SCAN reported
 * with these PAGE_IS_* categories (pagemap_scan.h). */
uint64_t pagemap_word_of(uint64_t categories);

#endif
