#define _GNU_SOURCE
/*
 * CKPT_FD_PIPE_READ, CKPT_FD_PIPE_WRITE: a pipe is kept only when the
 * process holds both its ends, or, in a tree, another process of the tree
 * holds the other end (c/lib/tree_fds.c; every holder of a read end
 * stores the unread bytes, all copies alike, as every member is stopped),
 * or no process holds the other end any more (other_end_gone); a pipe to
 * a live process outside is dropped or refused (drop_or_fail). Its unread bytes are copied with tee() into a
 * scratch pipe (not consumed, so a program that runs on loses nothing) and
 * stored with the read end's record; the restart makes one new pipe per
 * pipe_id, writes them back, and dup's each end to every fd that had it.
 * Named FIFOs (fd_fifo.c) follow the same rules at capture, so the
 * resolution below serves both.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "fd_kinds.h"
#include "../range.h"
#ifdef CKPT_LIB
#include "../lib/ckpt_lib.h"
#include "../lib/tree.h"
#endif
#ifdef CKPT_STUB
#include "../stub/stub.h"
#endif
#include "../sys.h"

const char *fd_pipe_bytes_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	if (f->pipe_len && (f->pipe_len > f->size || !within(f->pipe_data_offset, f->pipe_len, h->file_size) ||
			    f->pipe_data_offset < h->data_offset))
		return FD_PIPE_BYTES_OUTSIDE;
	return 0;
}

const char *fd_pipe_record_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	if (f->kind == CKPT_FD_PIPE_WRITE)
		return fd_stores_nothing(f); /* the read end holds the unread bytes */
	return f->content_len ? FD_CONTENTS_OUTSIDE : fd_pipe_bytes_problem(f, h);
}

#ifdef CKPT_LIB
int fd_pipe_capture(int fd, struct ckpt_fd *r, const struct stat *st)
{
	r->pipe_id = st->st_ino;
	r->size = (uint64_t)sys_fcntl(fd, F_GETPIPE_SZ, 0);
	return 1;
}

/* A named FIFO's fd may hold either end or, opened O_RDWR, both. */
static int reads(const struct ckpt_fd *r)
{
	return r->kind == CKPT_FD_PIPE_READ || (r->kind == CKPT_FD_FIFO && (r->open_flags & O_ACCMODE) != O_WRONLY);
}

static int writes(const struct ckpt_fd *r)
{
	return r->kind == CKPT_FD_PIPE_WRITE || (r->kind == CKPT_FD_FIFO && (r->open_flags & O_ACCMODE) != O_RDONLY);
}

static int same_pipe(const struct ckpt_fd *a, const struct ckpt_fd *b)
{
	return a->pipe_id == b->pipe_id && (a->kind == CKPT_FD_FIFO) == (b->kind == CKPT_FD_FIFO) &&
	       (reads(b) || writes(b));
}

static int pipe_has_other_end(struct capture *c, const struct ckpt_fd *r)
{
	int rd = 0, wr = 0;
	for (uint32_t i = 0; i < c->nfds; i++)
		if (same_pipe(r, &c->fds[i]))
			rd |= reads(&c->fds[i]), wr |= writes(&c->fds[i]);
	return rd && wr;
}

/* An end whose other end no process holds any more (a reader whose
 * writers all exited, as xargs's stdin after seq ended; a writer whose
 * reader did): the kernel's own answer, POLLHUP on a read end with no
 * writer, POLLERR on a write end with no reader, so a live holder
 * anywhere, inside the tree or not, keeps it from counting. The restart
 * makes the pipe and closes the missing end: the reader gets the unread
 * bytes, then EOF; a write fails with EPIPE, as both would have. A launch
 * fd (a shell's here-document) is the launcher's business and is dropped
 * with a warning as before. */
static int other_end_gone(const struct ckpt_fd *r)
{
	struct { int32_t fd; int16_t events, revents; } p = {r->fd, 0, 0};
	struct { long sec, nsec; } now = {0, 0};
	if (sys_ppoll(&p, 1, &now) != 1)
		return 0;
	return r->kind == CKPT_FD_PIPE_READ ? (p.revents & 0x10 /* POLLHUP */) != 0
					    : (p.revents & 0x8 /* POLLERR */) != 0;
}

static int packet_mode(const struct capture *c, const struct ckpt_fd *r)
{
	for (uint32_t i = 0; i < c->nfds; i++)
		if (same_pipe(r, &c->fds[i]) && writes(&c->fds[i]) && (c->fds[i].open_flags & O_DIRECT))
			return 1;
	return 0;
}

/* Copies the unread bytes of a pipe without consuming them: tee() into a
 * scratch pipe at least as large, then read that. */
static int capture_pipe_bytes(struct capture *c, struct ckpt_fd *r)
{
	if (c->pipe_scratch[0] < 0) {
		long err = sys_pipe2(c->pipe_scratch, O_CLOEXEC | O_NONBLOCK);
		if (err < 0)
			return capture_fail(c, "cannot create a pipe to copy pipe contents", err);
	}
	sys_fcntl(c->pipe_scratch[1], F_SETPIPE_SZ, (long)r->size);
	long n = sys_tee(r->fd, c->pipe_scratch[1], r->size, 2 /* SPLICE_F_NONBLOCK */);
	if (n <= 0)
		return 0; /* empty (EAGAIN) */
	if (packet_mode(c, r)) {
		/* Written back in one go, its packets would run together. */
		c->error.len = 0;
		line_str(&c->error, "fd ");
		line_u64(&c->error, (uint64_t)r->fd);
		line_str(&c->error, " (a packet-mode pipe, O_DIRECT) holds ");
		line_u64(&c->error, (uint64_t)n);
		line_str(&c->error, " unread bytes whose packet boundaries cannot be kept; checkpoint when it is empty");
		return -1;
	}
	if (c->pipe_data_size + (uint64_t)n > c->pipe_data_cap)
		return capture_fail(c, "too much unread data in pipes", 0);
	r->pipe_data_offset = c->pipe_data_size; /* relative; the writer makes it absolute */
	for (long got = 0; got < n;) {
		long k = sys_read(c->pipe_scratch[0], c->pipe_data + c->pipe_data_size + got, (size_t)(n - got));
		if (k <= 0)
			return capture_fail(c, "cannot copy pipe contents", k);
		got += k;
	}
	r->pipe_len = (uint32_t)n;
	c->pipe_data_size += (uint64_t)n;
	return 0;
}

int resolve_pipes(struct capture *c)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		int is_pipe = r->kind == CKPT_FD_PIPE_READ || r->kind == CKPT_FD_PIPE_WRITE;
		if ((is_pipe || r->kind == CKPT_FD_FIFO) && !pipe_has_other_end(c, r) && !tree_pipe_peer_in_tree(c, r) &&
		    !(is_pipe && !from_launch(c, r->fd) && other_end_gone(r))) {
			int k = is_pipe ? drop_or_fail(c, r->fd, "a pipe to another process", "")
					: drop_or_fail(c, r->fd, c->strings + r->path_str,
						       "a FIFO whose other end another process holds");
			if (k < 0)
				return -1;
			continue;
		}
		c->fds[kept++] = *r;
	}
	c->nfds = kept;
	for (uint32_t i = 0; i < c->nfds; i++) {
		struct ckpt_fd *r = &c->fds[i];
		int first_reader = reads(r);
		for (uint32_t j = 0; j < i && first_reader; j++)
			first_reader = !(reads(&c->fds[j]) && same_pipe(r, &c->fds[j]));
		if (first_reader && capture_pipe_bytes(c, r))
			return -1;
	}
	return 0;
}
#endif

#ifdef CKPT_STUB
/* pipe_id is an inode number: a FIFO's may equal a pipe's. */
static int of_this_pipe(const struct ckpt_fd *a, const struct ckpt_fd *f)
{
	return a->pipe_id == f->pipe_id && (a->kind == CKPT_FD_PIPE_READ || a->kind == CKPT_FD_PIPE_WRITE);
}

static int pipe_seen(const struct ckpt_fd *fds, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++)
		if ((fds[j].kind == CKPT_FD_PIPE_READ || fds[j].kind == CKPT_FD_PIPE_WRITE) && fds[j].pipe_id == fds[i].pipe_id)
			return 1;
	return 0;
}

/* One new pipe per pipe_id, at its first record: its unread bytes written
 * back, each end dup'ed to every fd that had it. */
void fd_pipe_restore(const struct ckpt_fd *fds, uint32_t n, uint32_t first, int image_fd)
{
	if (pipe_seen(fds, first))
		return;
	const struct ckpt_fd *f = &fds[first];
	int p[2];
	/* Packet mode (O_DIRECT) can only be chosen at creation, and it is the
	 * write end's: F_SETFL refuses it on pipes. */
	unsigned direct = 0;
	for (uint32_t i = first; i < n; i++)
		if (of_this_pipe(&fds[i], f) && fds[i].kind == CKPT_FD_PIPE_WRITE)
			direct |= fds[i].open_flags & O_DIRECT;
	/* Non-blocking while refilled: a pipe the kernel would not make as large
	 * as the saved one fails the restart instead of hanging it; each end
	 * gets the program's own flags once placed. */
	long err = sys_pipe2(p, O_CLOEXEC | O_NONBLOCK | (int)direct);
	if (err < 0)
		die("cannot create a pipe", err);
	int rd = to_high(p[0], "cannot create a pipe", 0), wr = to_high(p[1], "cannot create a pipe", 0);
	if (f->size)
		sys_fcntl(wr, F_SETPIPE_SZ, (long)f->size);
	for (uint32_t i = first; i < n; i++)
		if (of_this_pipe(&fds[i], f) && fds[i].pipe_len)
			refill_from_image(image_fd, fds[i].pipe_data_offset, fds[i].pipe_len, fds[i].pipe_crc, wr, 0, "pipe");
	for (uint32_t i = first; i < n; i++)
		if (of_this_pipe(&fds[i], f)) {
			place(fds[i].kind == CKPT_FD_PIPE_READ ? rd : wr, &fds[i]);
			set_status_flags(&fds[i]);
		}
	sys_close(rd);
	sys_close(wr);
}
#endif
