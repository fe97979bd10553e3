/*
 * What the kernel says about one Unix socket, by inode, through
 * NETLINK_SOCK_DIAG (unix_diag): its state, its peer's inode, the
 * connections waiting on a listener and its backlog, the inode its path
 * was created as, and its shutdown bits. No socket call reveals the peer;
 * this does, exactly, for any user, about sockets of this network
 * namespace (a request by inode with no cookie: unix_diag_get_exact).
 * Raw syscalls into c->text: it runs in the checkpoint's signal handler.
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include "ckpt_lib.h"
#include "../sys.h"

static void take_attribute(const struct rtattr *a, struct unix_facts *u)
{
	const void *v = RTA_DATA(a);
	if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
		u->peer_ino = *(const uint32_t *)v;
	else if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen))
		u->rqueue = ((const struct unix_diag_rqlen *)v)->udiag_rqueue,
		u->wqueue = ((const struct unix_diag_rqlen *)v)->udiag_wqueue;
	else if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_vfs))
		u->vfs_ino = ((const struct unix_diag_vfs *)v)->udiag_vfs_ino,
		u->vfs_dev = ((const struct unix_diag_vfs *)v)->udiag_vfs_dev, u->has_vfs = 1;
	else if (a->rta_type == UNIX_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1)
		u->shutdown = *(const uint8_t *)v;
}

long unix_diag(struct capture *c, uint64_t ino, struct unix_facts *u)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = {.nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)ino,
		      .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS,
		      .udiag_cookie = {~0u, ~0u}},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	long nl = sys_socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return nl;
	long n = sys_sendto((int)nl, &req, sizeof req, 0, &kernel, sizeof kernel);
	if (n >= 0)
		n = sys_recvfrom((int)nl, c->text, c->text_cap, 0);
	sys_close((int)nl);
	if (n < 0)
		return n;
	const struct nlmsghdr *h = (const void *)c->text;
	if (n < (long)NLMSG_LENGTH(0) || h->nlmsg_len > (uint32_t)n)
		return -71; /* EPROTO */
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		return e->error < 0 ? e->error : -71;
	}
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof *m) || m->udiag_ino != (uint32_t)ino)
		return -71;
	*u = (struct unix_facts){.state = m->udiag_state, .type = m->udiag_type};
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
	for (const struct rtattr *a = (const void *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
		take_attribute(a, u);
	return 0;
}
