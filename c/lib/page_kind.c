/*
 * One page's extent kind from its pagemap word. A guard marker comes
 * first: the kernel reports it as a swap entry (bit 62) too, and reading
 * the page would raise SIGSEGV in the middle of the checkpoint. A swapped
 * page is data like a present one: treating it as never touched would
 * bring it back as zeros with every checksum matching.
 */
#include "page_kind.h"
#include "pagemap_scan.h"
#include "../ckpt_format.h"

uint32_t page_kind(uint64_t e, enum page_source source)
{
	if (e & PM_GUARD)
		return CKPT_EXTENT_GUARD;
	switch (source) {
	case PAGES_ALL_DATA:
		return CKPT_EXTENT_DATA;
	case PAGES_ALL_FILE:
		return CKPT_EXTENT_FILE;
	case PAGES_FILE_PRIVATE:
		/* Bit 61 set: still the file's own page, not a private copy. */
		return (e & (PM_PRESENT | PM_SWAPPED)) && !(e & PM_FILE) ? CKPT_EXTENT_DATA : CKPT_EXTENT_FILE;
	case PAGES_ANON:
	default:
		return e & (PM_PRESENT | PM_SWAPPED) ? CKPT_EXTENT_DATA : CKPT_EXTENT_HOLE;
	}
}

/* PAGEMAP_SCAN says "written" where pagemap says "uffd-wp" (one bit, read
 * the other way), and says it of holes too (every page of a region nobody
 * protected is "written"): only a page that is there can be protected. */
uint64_t pagemap_word_of(uint64_t categories)
{
	uint64_t word = 0;
	if (categories & PAGE_IS_PRESENT)
		word |= PM_PRESENT;
	if (categories & PAGE_IS_SWAPPED)
		word |= PM_SWAPPED;
	if (categories & PAGE_IS_FILE)
		word |= PM_FILE;
	if (categories & PAGE_IS_GUARD)
		word |= PM_GUARD;
	if ((word & (PM_PRESENT | PM_SWAPPED)) && !(categories & PAGE_IS_WRITTEN))
		word |= PM_UFFD_WP;
	return word;
}
