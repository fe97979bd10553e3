/* A tree's root tells the namespace's init that every process of the tree
 * is restored (pid_namespace.c, run_init: init then outlives the root
 * while the rest of the tree runs on). A real-time signal, never merged
 * with one already pending, queued with a value a program would not send. */
#include <signal.h>
#include "stub.h"
#include "../sys.h"

#define TREE_RESTORED_SIGNAL 64
#define TREE_RESTORED_SIGVAL 0x434b5054524545ull /* "CKPTREE" */

void tell_init_restored(void)
{
	if (sys_getpid() == 1)
		return; /* the root is init itself */
	char info[128] = {0};
	int32_t head[6] = {TREE_RESTORED_SIGNAL, 0, -1 /* SI_QUEUE */, 0, (int32_t)sys_getpid(), (int32_t)sys_getuid()};
	uint64_t value = TREE_RESTORED_SIGVAL;
	__builtin_memcpy(info, head, sizeof head);
	__builtin_memcpy(info + 24, &value, sizeof value);
	sys_rt_sigqueueinfo(1, TREE_RESTORED_SIGNAL, info);
}

int tree_restored_note(long sig, const char *info)
{
	int32_t code;
	uint64_t value;
	__builtin_memcpy(&code, info + 8, sizeof code); /* si_code */
	__builtin_memcpy(&value, info + 24, sizeof value); /* si_value */
	return sig == TREE_RESTORED_SIGNAL && code == -1 /* SI_QUEUE */ && value == TREE_RESTORED_SIGVAL;
}
