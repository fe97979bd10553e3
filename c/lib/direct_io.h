/* O_DIRECT on an image file, shared by the two data writers
 * (data_stream.c, compressed_stream.c): both write whole aligned pieces
 * past the page cache, and both fall back to it where the file system
 * refuses O_DIRECT (at fcntl, or with EINVAL at a write). */
#ifndef CKPT_DIRECT_IO_H
#define CKPT_DIRECT_IO_H

#include <fcntl.h>
#include "../sys.h"

/* O_DIRECT on or off for fd: 0, or -1 where the file system refuses it. */
static inline int set_direct_io(int fd, int on)
{
	long fl = sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0)
		return -1;
	return sys_fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0 ? -1 : 0;
}

#endif
