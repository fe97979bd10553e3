/*
 * Credentials: each thread's user and group ids (real, effective, saved,
 * filesystem), its capability sets (effective, permitted, inheritable,
 * bounding, ambient) and securebits, and the process's dumpable flag.
 * A daemon run as root that dropped capabilities, or a program that made
 * itself non-dumpable to keep its secrets from ptrace and core dumps (an
 * ssh or gpg agent), would otherwise come back with the restart's.
 *
 * Each thread sets its own last of all its state (restore_credentials):
 * whatever the restore still had to do with the restart's rights (nice
 * values, timers on alarm clocks, thread ids in the namespace) is done.
 * The steps go in the one order the kernel allows (set_creds). Whether
 * they can succeed depends on rules of the kernel's that a copy here
 * could get wrong, so phase 1 (check_credentials) runs them for real in
 * a child that then exits: a refusal there is clean and names the
 * thread. Capabilities a new user namespace gives hold only inside it,
 * so an image that had any is refused in one.
 */
#include <sys/mman.h>
#include "stub.h"
#include "../creds.h"
#include "../str.h"

#define SECBIT_KEEP_CAPS_LOCKED (1u << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1u << 6)
#define WALL 0x40000000 /* __WALL: the probe exits with no signal to its parent */

struct probe_result {
	long err;
	const char *step;
};

static long set_securebits(const struct ckpt_creds *now, uint32_t bits)
{
	if (bits == now->securebits)
		return 0;
	if ((bits ^ now->securebits) == CKPT_SECBIT_KEEP_CAPS) /* needs no right */
		return sys_prctl(PR_SET_KEEPCAPS, !!(bits & CKPT_SECBIT_KEEP_CAPS), 0, 0, 0);
	return sys_prctl(PR_SET_SECUREBITS, bits, 0, 0, 0);
}

/* setresuid also sets the filesystem id to the effective one; setfsuid
 * says nothing of failure, so the result is read back. */
static long set_ids(const struct ckpt_creds *c, const char **step)
{
	long err = SYS3(__NR_setresgid, c->gid[0], c->gid[1], c->gid[2]);
	if (err < 0)
		return *step = "setresgid", err;
	SYS1(__NR_setfsgid, c->gid[3]);
	if ((uint32_t)SYS1(__NR_setfsgid, -1) != c->gid[3])
		return *step = "setfsgid", -1 /* EPERM */;
	if ((err = SYS3(__NR_setresuid, c->uid[0], c->uid[1], c->uid[2])) < 0)
		return *step = "setresuid", err;
	SYS1(__NR_setfsuid, c->uid[3]);
	if ((uint32_t)SYS1(__NR_setfsuid, -1) != c->uid[3])
		return *step = "setfsuid", -1;
	return 0;
}

static long set_capabilities(const struct ckpt_creds *c, uint64_t ambient_now, const char **step)
{
	struct ckpt_cap_head head = {CKPT_CAP_VERSION_3, 0};
	struct ckpt_cap_data d[2] = {
		{(uint32_t)c->cap_effective, (uint32_t)c->cap_permitted, (uint32_t)c->cap_inheritable},
		{(uint32_t)(c->cap_effective >> 32), (uint32_t)(c->cap_permitted >> 32), (uint32_t)(c->cap_inheritable >> 32)},
	};
	long err = sys_capset(&head, d);
	if (err < 0)
		return *step = "capset", err;
	if (!ambient_now && !c->cap_ambient)
		return 0;
	if ((err = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0)
		return *step = "clearing the ambient set", err;
	for (int cap = 0; c->cap_ambient >> cap; cap++)
		if ((c->cap_ambient >> cap & 1) &&
		    (err = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) < 0)
			return *step = "raising an ambient capability", err;
	return 0;
}

/* Bounding set and securebits first: both need CAP_SETPCAP, which the id
 * change or capset may take away. Across an id change the permitted set
 * survives only with SECBIT_KEEP_CAPS, which is set for it and cleared
 * after unless the thread had it. */
static long set_creds(const struct ckpt_creds *want, const char **step)
{
	struct ckpt_creds now;
	creds_read(&now);
	if (want->cap_bounding & ~now.cap_bounding)
		return *step = "the bounding set, which can only shrink", -1;
	long err = 0;
	for (int cap = 0; cap < CKPT_CAP_MAX; cap++)
		if ((now.cap_bounding & ~want->cap_bounding) >> cap & 1 &&
		    (err = sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) < 0)
			return *step = "dropping from the bounding set (CAP_SETPCAP)", err;
	int ids_change = !creds_ids_equal(&now, want);
	uint32_t keep = ids_change && !(want->securebits & SECBIT_KEEP_CAPS_LOCKED) ? CKPT_SECBIT_KEEP_CAPS : 0;
	if ((err = set_securebits(&now, want->securebits | keep)) < 0)
		return *step = "securebits (CAP_SETPCAP)", err;
	if (ids_change && (err = set_ids(want, step)) < 0)
		return err;
	if ((keep & ~want->securebits) && (err = sys_prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)) < 0)
		return *step = "clearing SECBIT_KEEP_CAPS", err;
	return set_capabilities(want, now.cap_ambient, step);
}

/* Process-wide, but an id change resets it, so every thread sets it after
 * its own. 2 (a set-user-id exec's "suidsafe") cannot be set: an id change
 * gives it where fs.suid_dumpable is 2, and phase 1 checked it does. */
static long set_dumpable(uint32_t dumpable)
{
	if (dumpable < 2)
		return sys_prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
	return sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 2 ? 0 : -22 /* EINVAL */;
}

void restore_credentials(const struct ckpt_thread *t)
{
	const char *step = "";
	long err = set_creds(&t->creds, &step);
	if (err >= 0)
		err = set_dumpable(restart.hdr->dumpable);
	if (err < 0)
		die("cannot set a thread's credentials again", err);
}

/* Runs the steps in a child of its own ids above the image's, which exits
 * with no signal (so no SIGCHLD is left pending for the program). */
static struct probe_result probe(const struct ckpt_creds *want, uint32_t dumpable)
{
	struct probe_result *shared = (void *)sys_mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if ((long)shared < 0 && (long)shared > -4096)
		die("cannot map a page to try the program's credentials", (long)shared);
	*shared = (struct probe_result){-1, "starting a child to try them"};
	long pid = clone_helper(0);
	if (pid == 0) {
		shared->err = set_creds(want, &shared->step);
		if (shared->err >= 0 && (shared->err = set_dumpable(dumpable)) < 0)
			shared->step = "the dumpable flag 2 (suidsafe), which only an id change gives here";
		sys_exit_group(0);
	}
	if (pid > 0)
		sys_wait4((int)pid, 0, WALL);
	struct probe_result r = pid < 0 ? (struct probe_result){pid, "starting a child to try them"} : *shared;
	sys_munmap(shared, 4096);
	return r;
}

static void line_ids(struct line *l, const char *what, const uint32_t *ids)
{
	line_str(l, what);
	for (int i = 0; i < 4; i++) {
		line_str(l, i ? "/" : " ");
		line_u64(l, ids[i]);
	}
}

static __attribute__((noreturn)) void refuse(const struct ckpt_thread *t, const char *why, long err)
{
	const struct ckpt_creds *c = &t->creds;
	struct line l = {.len = 0};
	line_str(&l, "thread ");
	line_i64(&l, t->tid);
	line_str(&l, " ran with");
	line_ids(&l, " uids", c->uid);
	line_ids(&l, ", gids", c->gid);
	line_str(&l, " (real/effective/saved/filesystem), capabilities: permitted ");
	line_hex(&l, c->cap_permitted);
	line_str(&l, ", bounding ");
	line_hex(&l, c->cap_bounding);
	line_str(&l, "; ");
	line_str(&l, why);
	if (err) {
		line_str(&l, ": ");
		line_str(&l, errno_text(err));
	}
	die_line(&l);
}

/* Whether set_creds only drops what this restart holds, which the kernel
 * always allows: the same ids and securebits, every set within ours, and
 * the bounding set ours or ours to shrink (CAP_SETPCAP). The usual case,
 * an unprivileged program in a new user namespace, so it needs no probe:
 * a tree's every member would make one at once, against RLIMIT_NPROC. */
static int only_drops(const struct ckpt_creds *want, const struct ckpt_creds *own, uint32_t dumpable)
{
	const uint64_t setpcap = 1ull << 8;
	return dumpable < 2 && creds_ids_equal(want, own) && want->securebits == own->securebits &&
	       !(want->cap_permitted & ~own->cap_permitted) &&
	       !(want->cap_inheritable & ~(own->cap_inheritable | own->cap_permitted)) &&
	       !(want->cap_bounding & ~own->cap_bounding) &&
	       (want->cap_bounding == own->cap_bounding || (own->cap_effective & setpcap)) &&
	       (!want->cap_ambient || !(own->securebits & SECBIT_NO_CAP_AMBIENT_RAISE));
}

void check_credentials(const struct ckpt_header *h, const char *tables)
{
	const struct ckpt_thread *th = (const void *)(tables + h->threads_off);
	struct ckpt_creds own;
	creds_read(&own);
	const struct ckpt_creds *tried = 0;
	for (uint32_t i = 0; i < h->nthreads; i++) {
		const struct ckpt_creds *c = &th[i].creds;
		if (restart.namespace == RESTART_NS_USER && (c->cap_permitted | c->cap_ambient))
			refuse(&th[i], "a restart inside a new user namespace cannot give capabilities outside it "
				       "(restart as a user who holds them)", 0);
		if (only_drops(c, &own, h->dumpable) || (tried && creds_equal(c, tried)))
			continue;
		struct probe_result r = probe(c, h->dumpable);
		if (r.err == -22 /* EINVAL: an id it does not map */ && restart.namespace == RESTART_NS_USER)
			refuse(&th[i], "a restart inside a new user namespace has only the restarting user's uid and gid "
				       "(restart as a user who may take them)", 0);
		if (r.err < 0) {
			struct line why = {.len = 0};
			line_str(&why, "this restart cannot take them (");
			line_str(&why, r.step);
			line_str(&why, ")");
			refuse(&th[i], why.buf, r.err);
		}
		tried = c;
	}
}
