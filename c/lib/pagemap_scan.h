/* The PAGEMAP_SCAN ioctl on /proc/self/pagemap (Linux 6.7+,
 * include/uapi/linux/fs.h; Debian 12's headers predate it): runs of pages
 * by category, and with PM_SCAN_WP_MATCHING the written ones protected
 * again (dirty_tracking.c). */
#ifndef CKPT_PAGEMAP_SCAN_H
#define CKPT_PAGEMAP_SCAN_H

#include <stdint.h>

#define PAGEMAP_SCAN 0xc0606610         /* _IOWR('f', 16, struct pm_scan_arg) */
#define PM_SCAN_WP_MATCHING (1u << 0)   /* write-protect the pages it reports, atomically */
#define PM_SCAN_CHECK_WPASYNC (1u << 1) /* EPERM for a range not registered WP_ASYNC */
#define PAGE_IS_WRITTEN (1u << 1)
#define PAGE_IS_FILE (1u << 2)
#define PAGE_IS_PRESENT (1u << 3)
#define PAGE_IS_SWAPPED (1u << 4)
#define PAGE_IS_GUARD (1u << 8)         /* Linux 6.15+; older kernels refuse the bit (EINVAL) */

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region { uint64_t start, end, categories; };

#endif
