/*
 * Unix connections a tree's restart makes in its root, before any other
 * process exists and before any listener is back (docs/process-trees.md,
 * "Restart", step 3): one socketpair per pair whose ends are in more than
 * one process, and every connection end with a name, each made through a
 * listener at its name (c/kinds/fd_unix_named.c). Each end is parked by
 * its inode, where every record of it takes it (tree_shared.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/socket.h>
#include "tree.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

/* The first record in tree order of socket `id` (either end of a pair), and its process. */
static const struct ckpt_fd *first_socket(uint64_t id, uint32_t *proc)
{
	for (*proc = 0; *proc < tree.n; (*proc)++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(*proc, &n);
		for (uint32_t i = 0; i < n; i++)
			if (tree_is_pair(&f[i]) && f[i].sock_id == id)
				return &f[i];
	}
	die("a socket pair between the tree's processes misses an end (corrupt image)", 0);
}

/* Record f's own address (path_str) in process p's strings. */
static const char *string_of(uint32_t p, const struct ckpt_fd *f)
{
	const struct tree_process *t = &tree.proc[p];
	return string_at(t->tables + t->hdr->strings_off, f->path_str);
}

/* Whether a process other than `proc` holds either end of f's pair. */
static int pair_between_processes(uint32_t proc, const struct ckpt_fd *pair)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; p != proc && i < n; i++)
			if (tree_is_pair(&f[i]) && (f[i].sock_id == pair->sock_id || f[i].sock_id == pair->peer_id))
				return 1;
	}
	return 0;
}

/* A connection end with a name whose peer is gone, made through its name
 * (fd_unix_named.c) and parked by its inode. */
static void park_closed_connection(uint32_t p, const struct ckpt_fd *f, int *next)
{
	const char *name = string_of(p, f);
	int sv[2];
	judge_member(tree.proc[p].member, tree.root_strings);
	fd_unix_socket_check_world(f, name);
	fd_unix_named_pair(f, name, f, "", -1, sv);
	int image = tree_image_of(p);
	fd_unix_socket_fill_closed(sv[0], sv[1], f, image);
	tree_done_with_image(p, image);
	tree_park_by_id(f->sock_id, CKPT_FD_UNIX_SOCKET, sv[0], next);
}

/* One socketpair per pair with ends in more than one process, each end as
 * its first holder's record says (its unread bytes from that image); and
 * every connection end with a name, pair or not, in any process: each is
 * made through a listener at its name, so before any listener is back
 * (a member's own, restored beside the others, could hold the name). */
void park_socket_pairs(int *next)
{
	for (uint32_t p = 0; p < tree.n; p++) {
		uint32_t n;
		const struct ckpt_fd *f = tree_fds_of(p, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (tree_is_closed_connection(&f[i]) && !f[i].shares_with && f[i].sock_type != SOCK_DGRAM &&
			    string_of(p, &f[i])[0] && !tree_parked_by_id(f[i].sock_id, CKPT_FD_UNIX_SOCKET))
				park_closed_connection(p, &f[i], next);
			if (!tree_is_pair(&f[i]) || f[i].shares_with || tree_parked_by_id(f[i].sock_id, CKPT_FD_UNIX_SOCKET))
				continue;
			uint32_t pa, pb;
			const struct ckpt_fd *a = first_socket(f[i].sock_id, &pa), *b = first_socket(f[i].peer_id, &pb);
			const char *a_name = string_of(pa, a), *b_name = string_of(pb, b);
			if (!pair_between_processes(p, &f[i]) && !a_name[0] && !b_name[0])
				continue; /* made by its process, as without a tree */
			int sv[2];
			if (a_name[0] || b_name[0]) { /* before any listener is back: none holds the address */
				judge_member(tree.proc[a_name[0] ? pa : pb].member, tree.root_strings);
				fd_unix_socket_check_world(a_name[0] ? a : b, a_name[0] ? a_name : b_name);
				fd_unix_named_pair(a, a_name, b, b_name, -1, sv);
			} else {
				long err = sys_socketpair(1 /* AF_UNIX */, (int)a->sock_type | O_CLOEXEC | O_NONBLOCK /* = SOCK_CLOEXEC, SOCK_NONBLOCK */, 0, sv);
				if (err < 0)
					die("cannot create a socket pair between the tree's processes", err);
			}
			int ia = tree_image_of(pa), ib = tree_image_of(pb);
			fd_unix_socket_fill_pair(sv, a, ia, b, ib);
			tree_done_with_image(pa, ia), tree_done_with_image(pb, ib);
			tree_park_by_id(a->sock_id, CKPT_FD_UNIX_SOCKET, sv[0], next);
			tree_park_by_id(b->sock_id, CKPT_FD_UNIX_SOCKET, sv[1], next);
		}
	}
	judge_member(0, 0);
}

