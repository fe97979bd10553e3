#define _GNU_SOURCE
/*
 * CKPT_FD_EPOLL: an epoll and its interest list. libckpt reads the list
 * from /proc/self/fdinfo/N, one "tfd: events: data:" line per watch, into
 * the watch table; the stub creates the epoll again at its number with
 * the others, and registers every watch once every descriptor is back.
 *
 * What comes back exactly, and what is refused (ARCHITECTURE.md, "epoll"):
 * - A watch is keyed by the file *and* the number it was registered under,
 *   and fdinfo shows only the number. If the program closed that number or
 *   put another file there (dup2) while the file stayed open elsewhere, the
 *   restart could only register whatever is at that number now: refused,
 *   by kcmp(KCMP_EPOLL_TFD), which compares the registered file with the
 *   fd's (unprivileged on one's own process, like KCMP_FILE).
 * - A watch on a descriptor ckpt drops or refuses refuses the epoll too,
 *   naming both: a loop that silently stops hearing from an fd hangs.
 * - Level-triggered watches are ready again by themselves (the stub's
 *   epoll_ctl polls the restored file). An edge-triggered or oneshot watch
 *   whose fd is ready at restart reports that readiness once: an edge not
 *   yet collected at checkpoint is delivered, never lost; one already
 *   collected, with the fd left ready, is reported once more (a spurious
 *   edge, which edge-triggered loops must tolerate anyway: they read until
 *   EAGAIN).
 * - A oneshot that already fired keeps only its flags (the kernel clears
 *   the event bits) and comes back so: silent until the program re-arms it
 *   with EPOLL_CTL_MOD. One difference is unavoidable: epoll_ctl always
 *   adds EPOLLERR|EPOLLHUP, so an error or hang-up on its fd before the
 *   re-arm is reported once, where the original stays silent.
 * - EPOLLWAKEUP is registered again as it was; a restart without
 *   CAP_BLOCK_SUSPEND has the kernel drop it silently, as it would have for
 *   the program's own epoll_ctl (it changes suspend, not which events come).
 */
#include <fcntl.h>
#include <sys/epoll.h>
#include "fd_kinds.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../lib/sort_records.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

#define WATCH_INVALID "epoll watch record is invalid (corrupt image)"

const char *fd_epoll_record_problem(const struct ckpt_fd *f)
{
	return fd_stores_nothing(f);
}

/* Sorted by epoll, then watched fd (so no watch twice); each epoll is an
 * epoll record of its own (not a dup), each watched fd in the table. The
 * events are not checked: epoll_ctl takes any bits, as it took the
 * program's. */
const char *fd_epoll_watches_problem(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_epoll_watch *w = (const void *)(t + h->watches_off);
	const struct ckpt_fd *f = (const void *)(t + h->fds_off);
	for (uint32_t i = 0; i < h->nwatches; i++) {
		uint32_t e = fd_record_index(f, h->nfds, w[i].epfd);
		if (i && (w[i].epfd < w[i - 1].epfd || (w[i].epfd == w[i - 1].epfd && w[i].fd <= w[i - 1].fd)))
			return WATCH_INVALID;
		if (e >= h->nfds || f[e].kind != CKPT_FD_EPOLL || f[e].shares_with || w[i].fd == w[i].epfd ||
		    fd_record_index(f, h->nfds, w[i].fd) >= h->nfds || w[i].pad)
			return WATCH_INVALID;
	}
	return 0;
}

#ifdef CKPT_LIB
int fd_epoll_capture(struct ckpt_fd *r)
{
	(void)r; /* its watches are read once every fd is classified (capture_epoll_watches) */
	return 1;
}

/* "fd E (epoll) <what>N (<its path>)<why>": the refusal, in c->error. The
 * path only when fd N holds the program's file (`named`): a number the
 * program closed may hold libckpt's own scratch pipe by now. */
static int epoll_fail(struct capture *c, int32_t epfd, const char *what, int32_t fd, int named, const char *why)
{
	char path[CKPT_PATH_MAX];
	struct line p = self_fd_path(fd);
	long n = sys_readlinkat(AT_FDCWD, p.buf, path, sizeof path - 1);
	path[n > 0 ? n : 0] = 0;
	c->error.len = 0;
	line_str(&c->error, "fd ");
	line_u64(&c->error, (uint64_t)epfd);
	line_str(&c->error, " (epoll) ");
	line_str(&c->error, what);
	line_u64(&c->error, (uint64_t)fd);
	if (named && n > 0) {
		line_str(&c->error, " (");
		line_str(&c->error, path);
		line_str(&c->error, ")");
	}
	line_str(&c->error, why);
	return -1;
}

/* fs/eventpoll.c, ep_show_fdinfo: "tfd: %8d events: %8x data: %16llx  pos:…". */
static int parse_watch(const char *s, const char *eol, struct ckpt_epoll_watch *w)
{
	uint64_t fd, events, data;
	if (!(s = fdinfo_field(s, eol, "tfd:", 10, &fd)) || !(s = fdinfo_field(s, eol, "events:", 16, &events)) ||
	    !fdinfo_field(s, eol, "data:", 16, &data) || fd > CKPT_MAX_FD || events > 0xffffffffull)
		return -1;
	*w = (struct ckpt_epoll_watch){.fd = (int32_t)fd, .events = (uint32_t)events, .data = data};
	return 0;
}

static int check_watch(struct capture *c, const struct ckpt_epoll_watch *w, uint32_t first)
{
	/* struct kcmp_epoll_slot: the epoll, and the watch registered under tfd */
	struct { uint32_t efd, tfd, toff; } slot = {(uint32_t)w->epfd, (uint32_t)w->fd, 0};
	int pid = (int)sys_getpid();
	for (uint32_t k = first; k < c->nwatches; k++)
		if (c->watches[k].fd == w->fd)
			return epoll_fail(c, w->epfd, "watches two files registered as fd ", w->fd, 0,
					  ": the program put another file at that number and registered it too, "
					  "and a restart could register only one");
	if (sys_kcmp(pid, pid, 7 /* KCMP_EPOLL_TFD */, (unsigned long)w->fd, (unsigned long)&slot) != 0)
		return epoll_fail(c, w->epfd, "watches a file registered as fd ", w->fd, 0,
				  " that is no longer open at that number (the program closed it or put another "
				  "file there without removing the watch); a restart could not register it again");
	if (fd_record_index(c->fds, c->nfds, w->fd) >= c->nfds)
		return epoll_fail(c, w->epfd, "watches fd ", w->fd, 1,
				  ", which cannot be restored, so neither can the epoll");
	return 0;
}

static int capture_watches(struct capture *c, int32_t epfd)
{
	long len = read_fdinfo(c, epfd);
	if (len < 0)
		return capture_fail(c, "cannot read /proc/self/fdinfo", len);
	uint32_t first = c->nwatches;
	for (const char *s = c->text, *end = c->text + len; s < end;) {
		const char *eol = s;
		while (eol < end && *eol != '\n')
			eol++;
		if (str_starts(s, "tfd:")) {
			struct ckpt_epoll_watch w;
			if (parse_watch(s, eol, &w))
				return capture_fail(c, "cannot read an epoll's watches in /proc/self/fdinfo", 0);
			w.epfd = epfd;
			if (check_watch(c, &w, first))
				return -1;
			if (c->nwatches >= c->max_watches)
				return capture_fail(c, "too many epoll watches", 0);
			c->watches[c->nwatches++] = w;
		}
		s = eol + 1;
	}
	/* fdinfo lists them in the kernel's tree order; the format wants fd order */
	sort_records_by_i32(&c->watches[first], c->nwatches - first, sizeof *c->watches,
			    offsetof(struct ckpt_epoll_watch, fd));
	return 0;
}

/* Once every fd is classified and the pipes resolved: a watch must name a
 * descriptor that is kept. A dup of an epoll shows the same list; it is
 * restored as that same epoll (shares_with), so its list is read once.
 * So is an epoll an earlier process of the tree holds (share_pid, set by
 * tree_share_fds before this runs): that holder's image has the list and
 * its restart registers it; here the list may name fds this process
 * closed (Redis's save child closes the listeners it inherited). */
int capture_epoll_watches(struct capture *c)
{
	c->nwatches = 0;
	for (uint32_t i = 0; i < c->nfds; i++)
		if (c->fds[i].kind == CKPT_FD_EPOLL && !c->fds[i].shares_with && !c->fds[i].share_pid &&
		    capture_watches(c, c->fds[i].fd))
			return -1;
	return 0;
}
#endif

#ifdef CKPT_STUB
int fd_epoll_make(void)
{
	return to_high(sys_epoll_create1(EPOLL_CLOEXEC), "cannot create an epoll", 0);
}

void fd_epoll_restore(const struct ckpt_fd *f)
{
	int fd = fd_epoll_make();
	place(fd, f); /* close-on-exec as the program had it */
	sys_close(fd);
}

/* How deeply epoll `epfd` nests others: 0 when it watches none. The kernel
 * allows 4 levels (EP_MAX_NESTS) and no loops, so deeper means corrupt. */
static uint32_t nesting(const struct ckpt_epoll_watch *w, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds,
			int32_t epfd, uint32_t level)
{
	uint32_t deepest = 0;
	if (level > 5)
		die("epoll watches nest too deeply or in a loop (corrupt image)", 0);
	for (uint32_t i = 0; i < n; i++) {
		if (w[i].epfd != epfd)
			continue;
		const struct ckpt_fd *t = &fds[fd_record_index(fds, nfds, w[i].fd)]; /* validate.c: it is there */
		int32_t inner = t->shares_with ? (int32_t)t->shares_with - 1 : t->fd;
		if (t->kind == CKPT_FD_EPOLL) {
			uint32_t d = 1 + nesting(w, n, fds, nfds, inner, level + 1);
			deepest = d > deepest ? d : deepest;
		}
	}
	return deepest;
}

/* Innermost epolls first, so an outer one registers an inner one that
 * already has its watches (and their readiness) in place. */
void restore_epoll_watches(const struct ckpt_epoll_watch *w, uint32_t n, const struct ckpt_fd *fds, uint32_t nfds)
{
	for (uint32_t depth = 0; depth <= 5; depth++)
		for (uint32_t i = 0, group = 0; i < n; i++) {
			/* sorted by epoll: one answer for each epoll's run of watches */
			if (!i || w[i].epfd != w[i - 1].epfd)
				group = nesting(w, n, fds, nfds, w[i].epfd, 0) == depth;
			if (!group)
				continue;
			struct { uint32_t events; uint64_t data; } __attribute__((packed)) ev = {w[i].events, w[i].data};
			long err = sys_epoll_ctl(w[i].epfd, EPOLL_CTL_ADD, w[i].fd, &ev);
			if (err < 0) {
				struct line why = {.len = 0};
				line_str(&why, "fd ");
				line_u64(&why, (uint64_t)w[i].epfd);
				line_str(&why, " (epoll): cannot watch fd ");
				line_u64(&why, (uint64_t)w[i].fd);
				line_str(&why, " again: ");
				line_str(&why, errno_text(err));
				die_line(&why);
			}
		}
}
#endif
