/* A Unix socket's address as records keep it ("/path", "@abstract"), for
 * the stub: shared by fd_unix_socket.c and fd_unix_named.c. */
#ifdef CKPT_STUB
#include <sys/socket.h>
#include <sys/un.h>
#include "fd_kinds.h"
#include "../str.h"

uint32_t fd_unix_address(const char *name, struct sockaddr_un *a)
{
	size_t n = str_len(name);
	if (n >= sizeof a->sun_path)
		return 0;
	a->sun_family = AF_UNIX;
	for (size_t i = 0; i < n; i++)
		a->sun_path[i] = name[i];
	if (name[0] == '@')
		a->sun_path[0] = 0; /* abstract: the name is what follows the NUL, no terminator */
	else
		a->sun_path[n++] = 0;
	return (uint32_t)(__builtin_offsetof(struct sockaddr_un, sun_path) + n);
}
#endif
