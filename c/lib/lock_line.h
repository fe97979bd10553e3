/* Parsing one "lock:" line of /proc/PID/fdinfo/N (the /proc/locks format):
 * pure, so it is also compiled against libc and tested (test/c/). */
#ifndef CKPT_LOCK_LINE_H
#define CKPT_LOCK_LINE_H

#include "../ckpt_format.h"

/* Fills kind, type, start and len of `out` from the text after "lock:" up
 * to `end`. Returns 1 on success; 0 for a line it cannot restore exactly
 * (a lease being broken, a delegation, a lock kind or type it does not
 * know), with a short reason in *why; -1 for a malformed line. */
int lock_line_parse(const char *s, const char *end, struct ckpt_lock *out, const char **why);

#endif
