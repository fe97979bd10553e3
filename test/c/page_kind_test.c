/* The per-page classification (c/lib/page_kind.c) against made-up pagemap
 * words: swapped-only, present-only, file-backed, exclusive, guard markers,
 * in every kind of region. A swapped page taken for a hole would come back
 * as zeros with every checksum matching, and this machine may have no swap:
 * these words are the guarantee. Prints "N passed, M failed". */
#include <stdio.h>
#include "../../c/ckpt_format.h"
#include "../../c/lib/page_kind.h"
#include "../../c/lib/pagemap_scan.h"

static int passed, failed;

/* A run PAGEMAP_SCAN reported, as the word pagemap gives each of its pages. */
static void expect_word(uint64_t categories, uint64_t want, const char *what)
{
	uint64_t got = pagemap_word_of(categories);
	if (got == want)
		passed++;
	else
		failed++, printf("FAIL: %s: categories %llx: word %016llx, expected %016llx\n", what,
				 (unsigned long long)categories, (unsigned long long)got, (unsigned long long)want);
}

/* What this machine's kernel (6.18) reported for each case, by experiment. */
static void runs_as_words(void)
{
	const uint64_t W = PAGE_IS_WRITTEN;
	expect_word(W, 0, "a hole outside tracking: \"written\", but no page to protect");
	expect_word(0, 0, "a hole inside a tracked region");
	expect_word(PAGE_IS_PRESENT | W, PM_PRESENT, "anon page written");
	expect_word(PAGE_IS_PRESENT, PM_PRESENT | PM_UFFD_WP, "anon page still protected");
	expect_word(PAGE_IS_SWAPPED, PM_SWAPPED | PM_UFFD_WP, "uffd-wp marker, or a protected page swapped out");
	expect_word(PAGE_IS_SWAPPED | W, PM_SWAPPED, "swapped page written");
	expect_word(PAGE_IS_PRESENT | PAGE_IS_FILE | W, PM_PRESENT | PM_FILE, "file page read");
	expect_word(PAGE_IS_GUARD | PAGE_IS_SWAPPED | W, PM_GUARD | PM_SWAPPED, "guard marker");
}

static void expect(uint64_t word, enum page_source src, uint32_t want, const char *what)
{
	uint32_t got = page_kind(word, src);
	if (got == want)
		passed++;
	else
		failed++, printf("FAIL: %s: word %016llx source %d: kind %u, expected %u\n", what,
				 (unsigned long long)word, (int)src, got, want);
}

int main(void)
{
	const uint64_t pfn = 0x1234, swap_entry = (7ull << 5) | 3; /* offset 7, type 3 */
	const uint64_t never = 0, present = PM_PRESENT | pfn, swapped = PM_SWAPPED | swap_entry;
	/* What the kernel reports for a guard marker: a swap-like entry with bit 58. */
	const uint64_t guard = PM_SWAPPED | PM_GUARD;

	expect(never, PAGES_ANON, CKPT_EXTENT_HOLE, "anon never touched");
	expect(present, PAGES_ANON, CKPT_EXTENT_DATA, "anon present-only");
	expect(PM_PRESENT, PAGES_ANON, CKPT_EXTENT_DATA, "anon present, frame hidden (unprivileged)");
	expect(swapped, PAGES_ANON, CKPT_EXTENT_DATA, "anon swapped-only");
	expect(PM_SWAPPED, PAGES_ANON, CKPT_EXTENT_DATA, "anon swapped, entry hidden");
	expect(present | PM_EXCLUSIVE, PAGES_ANON, CKPT_EXTENT_DATA, "anon exclusive");
	expect(swapped | PM_EXCLUSIVE, PAGES_ANON, CKPT_EXTENT_DATA, "anon swapped exclusive");
	expect(PM_EXCLUSIVE, PAGES_ANON, CKPT_EXTENT_HOLE, "exclusive bit alone is no page");
	expect(present | PM_FILE, PAGES_ANON, CKPT_EXTENT_DATA, "anon region, file bit (deleted file copy)");
	expect((1ull << 55) | (1ull << 57), PAGES_ANON, CKPT_EXTENT_HOLE, "soft-dirty and uffd-wp alone");

	expect(never, PAGES_FILE_PRIVATE, CKPT_EXTENT_FILE, "file page never touched");
	expect(present | PM_FILE, PAGES_FILE_PRIVATE, CKPT_EXTENT_FILE, "file-backed, present");
	expect(present | PM_FILE | PM_EXCLUSIVE, PAGES_FILE_PRIVATE, CKPT_EXTENT_FILE, "file-backed exclusive");
	expect(present, PAGES_FILE_PRIVATE, CKPT_EXTENT_DATA, "private copy on write, present");
	expect(present | PM_EXCLUSIVE, PAGES_FILE_PRIVATE, CKPT_EXTENT_DATA, "private copy, exclusive");
	expect(swapped, PAGES_FILE_PRIVATE, CKPT_EXTENT_DATA, "private copy, swapped-only");
	expect(PM_SWAPPED | PM_FILE, PAGES_FILE_PRIVATE, CKPT_EXTENT_FILE, "file page swapped (shmem)");

	for (int src = PAGES_ANON; src <= PAGES_ALL_FILE; src++) {
		expect(guard, (enum page_source)src, CKPT_EXTENT_GUARD, "guard marker");
		expect(PM_GUARD, (enum page_source)src, CKPT_EXTENT_GUARD, "guard bit alone");
	}
	expect(present, PAGES_ALL_DATA, CKPT_EXTENT_DATA, "stored whole");
	expect(never, PAGES_ALL_DATA, CKPT_EXTENT_DATA, "stored whole, untouched");
	expect(swapped, PAGES_ALL_FILE, CKPT_EXTENT_FILE, "mapped whole");
	runs_as_words();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
