/*
 * One page's extent kind from its pagemap word. A guard marker comes
 * first: the kernel reports it as a swap entry (bit 62) too, and reading
 * the page would raise SIGSEGV in the middle of the checkpoint. A swapped
 * page is data like a present one: treating it as never touched would
 * bring it back as zeros with every checksum matching.
 */
#include "page_kind.h"
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
