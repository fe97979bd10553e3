/*
 * A thread's credentials (struct ckpt_creds), read the same way by
 * libckpt (capture, in each thread) and by the stub (what the restart
 * holds, and what the probe child of c/stub/credentials.c ended with).
 * Each read is a system call on the calling thread only; nothing changes.
 */
#ifndef CKPT_CREDS_H
#define CKPT_CREDS_H

#include <sys/prctl.h> /* glibc's includes linux/prctl.h; musl's conflicts with it */
#include "ckpt_format.h"
#include "sys.h"

#define CKPT_CAP_VERSION_3 0x20080522 /* _LINUX_CAPABILITY_VERSION_3: two 32-bit words a set */
#define CKPT_CAP_MAX 64               /* capability numbers the sets can hold */
#define CKPT_SECBIT_KEEP_CAPS (1u << 4)

struct ckpt_cap_head { uint32_t version; int32_t pid; };
struct ckpt_cap_data { uint32_t effective, permitted, inheritable; };

static inline uint64_t creds_cap_words(uint32_t low, uint32_t high) { return (uint64_t)high << 32 | low; }

/* The thread's effective, permitted and inheritable sets. */
static inline long creds_read_caps(struct ckpt_creds *c)
{
	struct ckpt_cap_head head = {CKPT_CAP_VERSION_3, 0};
	struct ckpt_cap_data d[2] = {{0, 0, 0}, {0, 0, 0}};
	long err = SYS2(__NR_capget, &head, d);
	c->cap_effective = creds_cap_words(d[0].effective, d[1].effective);
	c->cap_permitted = creds_cap_words(d[0].permitted, d[1].permitted);
	c->cap_inheritable = creds_cap_words(d[0].inheritable, d[1].inheritable);
	return err;
}

/* The bounding set is read one capability at a time, up to the kernel's
 * last (EINVAL past it). The ambient set is always within permitted and
 * inheritable, so only those are asked: none for almost every program. */
static inline void creds_read_sets(struct ckpt_creds *c)
{
	c->cap_bounding = c->cap_ambient = 0;
	for (int cap = 0; cap < CKPT_CAP_MAX; cap++) {
		long in = sys_prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in < 0)
			break;
		c->cap_bounding |= (uint64_t)(in > 0) << cap;
	}
	uint64_t may_be_ambient = c->cap_permitted & c->cap_inheritable;
	for (int cap = 0; may_be_ambient >> cap; cap++)
		if (may_be_ambient >> cap & 1 && sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			c->cap_ambient |= 1ull << cap;
}

/* Returns 0, or the error of capget. setfsuid/setfsgid with an invalid
 * id change nothing and return the current one. */
static inline long creds_read(struct ckpt_creds *c)
{
	SYS3(__NR_getresuid, &c->uid[0], &c->uid[1], &c->uid[2]);
	SYS3(__NR_getresgid, &c->gid[0], &c->gid[1], &c->gid[2]);
	c->uid[3] = (uint32_t)SYS1(__NR_setfsuid, -1);
	c->gid[3] = (uint32_t)SYS1(__NR_setfsgid, -1);
	c->securebits = (uint32_t)sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	c->pad = 0;
	long err = creds_read_caps(c);
	creds_read_sets(c);
	return err;
}

static inline int creds_ids_equal(const struct ckpt_creds *a, const struct ckpt_creds *b)
{
	for (int i = 0; i < 4; i++)
		if (a->uid[i] != b->uid[i] || a->gid[i] != b->gid[i])
			return 0;
	return 1;
}

static inline int creds_equal(const struct ckpt_creds *a, const struct ckpt_creds *b)
{
	return creds_ids_equal(a, b) && a->cap_effective == b->cap_effective && a->cap_permitted == b->cap_permitted &&
	       a->cap_inheritable == b->cap_inheritable && a->cap_bounding == b->cap_bounding &&
	       a->cap_ambient == b->cap_ambient && a->securebits == b->securebits;
}

#endif
